import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { WebhookDeliveries, WebhookDeliveryRecord } from '../../application/ports/webhook-deliveries.js';
import { principalOf } from '../auth.js';
import { iso, isoOrNull, unwrap } from '../route-kit.js';
import {
  pageOf,
  problemResponses,
  WebhookDeliveriesQuery,
  WebhookDeliveryIdParams,
  WebhookDeliverySchema,
} from '../schemas.js';

const deliveryView = (d: WebhookDeliveryRecord) => ({
  ...d,
  occurredAt: iso(d.occurredAt),
  nextAttemptAt: iso(d.nextAttemptAt),
  lastAttemptAt: isoOrNull(d.lastAttemptAt),
  deliveredAt: isoOrNull(d.deliveredAt),
  deadAt: isoOrNull(d.deadAt),
  createdAt: iso(d.createdAt),
});

/** The webhook relay's deliveries: see what is pending or dead, and send one again. Admin only. */
export const adminWebhookRoutes =
  (deliveries: WebhookDeliveries): FastifyPluginAsyncTypebox =>
  async (app) => {
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
        return { items: page.items.map(deliveryView), nextCursor: page.nextCursor };
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
        return deliveryView(unwrap(await deliveries.retry(request.params.id, principalOf(request).userId)));
      },
    );
  };
