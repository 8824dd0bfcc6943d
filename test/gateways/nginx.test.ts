import { NGINX } from '../support/gateway.js';
import { describeGateway } from '../support/gateway-suite.js';

describeGateway(NGINX);
