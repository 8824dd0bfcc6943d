import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { WebhookDeliveries } from '../../application/ports/webhook-deliveries.js';
import { principalOf } from '../auth.js';
import { withIsoDates } from '../iso-dates.js';
import { unwrap } from '../route-kit.js';
import {
  pageOf,
  problemResponses,
  WebhookDeliveriesQuery,
  WebhookDeliveryIdParams,
  WebhookDeliverySchema,
} from '../schemas.js';

export const WebhookSetupSchema = Type.Object({
  receivers: Type.Integer({ description: 'URLs in TOKENWARDEN_WEBHOOK_URLS on this instance' }),
});

/** The webhook relay's deliveries: see what is pending or dead, and send one again. Admin only. */
export const adminWebhookRoutes =
  (deliveries: WebhookDeliveries, receivers: number): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/webhooks',
      {
        schema: {
          operationId: 'getWebhookSetup',
          summary:
            'How many webhook receivers are configured (0: events wait in the outbox, nothing is sent)',
          response: { 200: WebhookSetupSchema },
        },
      },
      async () => ({ receivers }),
    );

    app.get(
      '/webhooks/deliveries',
      {
        schema: {
          operationId: 'listWebhookDeliveries',
          summary: 'Webhook deliveries, newest first; `state=dead` lists the dead letters',
          querystring: WebhookDeliveriesQuery,
          response: { 200: pageOf(WebhookDeliverySchema), ...problemResponses(422) },
        },
      },
      async (request) => {
        const page = unwrap(await deliveries.list(request.query));
        return { items: page.items.map(withIsoDates), nextCursor: page.nextCursor };
      },
    );

    app.post(
      '/webhooks/deliveries/:id/retry',
      {
        schema: {
          operationId: 'retryWebhookDelivery',
          summary: 'Queue a delivery again, due now, with its attempts reset (audited)',
          description: 'A delivered one is sent again; receivers dedupe on the event id.',
          params: WebhookDeliveryIdParams,
          response: { 200: WebhookDeliverySchema, ...problemResponses(404) },
        },
      },
      async (request) => {
        return withIsoDates(unwrap(await deliveries.retry(request.params.id, principalOf(request).userId)));
      },
    );
  };
