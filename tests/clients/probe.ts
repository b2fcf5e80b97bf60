// probe.ts - what a CRM writes against the clients generated from the OpenAPI document
// (tests/api/openapi_clients.test.mjs generates them into gen/ and type-checks this file with
// `tsc --strict`). Each line fails to compile if the document regresses: a created key's or
// endpoint's `secret` optional, a request field with a default made required, 404
// route_not_found or 405 missing from an operation's responses.
import type { components, operations } from './gen/openapi-typescript';
import type * as Hey from './gen/hey-api/types.gen';
import type * as Orval from './gen/orval/api';

type S = components['schemas'];
const address = { name: 'Jane Smith', line1: '1 Main St', city: 'Austin', postal_code: '78701', country: 'US' };

// openapi-typescript: the secret is a string, not string | undefined.
export const otKeySecret = (k: S['ApiKeyWithSecret']): string => k.secret;
export const otEndpointSecret = (e: S['WebhookEndpointWithSecret']): string => e.secret;
// ...and the request fields with server-side defaults may be left out.
export const otKey: S['ApiKeyCreate'] = { scopes: ['customers:read'] };
export const otEndpoint: S['WebhookEndpointCreate'] = { url: 'https://crm.example.com/hooks' };
export const otForward: S['ForwardRequest'] = { forward_address: address };
export const otCustomer: S['CustomerCreate'] = { email: 'jane@example.com', name: 'Jane Smith' };
export const otList: operations['listCustomers']['parameters']['query'] = {};
// 404 route_not_found and 405 are ordinary responses of every operation.
type OtError<O extends keyof operations, C extends number> =
  operations[O]['responses'] extends Record<C, { content: { 'application/json': infer B } }> ? B : never;
export const ot404 = (b: OtError<'listCustomers', 404>): 'route_not_found' => b.error.code;
export const ot405 = (b: OtError<'createCustomer', 405>): 'method_not_allowed' => b.error.code;
export const ot405op = (b: OtError<'listPartners', 405>): 'method_not_allowed' => b.error.code;

// @hey-api/openapi-ts
export const heyKeySecret = (k: Hey.ApiKeyWithSecret): string => k.secret;
export const heyEndpointSecret = (e: Hey.WebhookEndpointWithSecret): string => e.secret;
export const heyKey: Hey.ApiKeyCreate = { scopes: ['customers:read'] };
export const heyEndpoint: Hey.WebhookEndpointCreate = { url: 'https://crm.example.com/hooks' };
export const heyForward: Hey.ForwardRequest = { forward_address: address };
export const hey404 = (b: Hey.ListCustomersErrors[404]): 'route_not_found' => b.error.code;
export const hey405 = (b: Hey.CreateCustomerErrors[405]): 'method_not_allowed' => b.error.code;

// orval (fetch client)
export const orvalKeySecret = (k: Orval.ApiKeyWithSecret): string => k.secret;
export const orvalEndpointSecret = (e: Orval.WebhookEndpointWithSecret): string => e.secret;
export const orvalKey: Orval.ApiKeyCreate = { scopes: ['customers:read'] };
export const orvalEndpoint: Orval.WebhookEndpointCreate = { url: 'https://crm.example.com/hooks' };
export const orvalForward: Orval.ForwardRequest = { forward_address: address };
export const orval404 = (r: Orval.listCustomersResponse404): 404 => r.status;
export const orval405 = (r: Orval.createCustomerResponse405): 405 => r.status;
