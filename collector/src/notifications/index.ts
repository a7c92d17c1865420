/**
 * The notifications concern owns channels (webhook signed with HMAC, Slack, Microsoft Teams, e-mail over SMTP),
 * routing rules, the durable outbox and each channel's health. It implements incidents' `IncidentNotifier` and sends
 * what incidents tell it; it must never read tickets, contracts or tenants' tables (it calls their functions through
 * `NotificationsDeps`) nor decide permissions (routes call the guard). docs/0005-notifications.md.
 */
export { headline, type Message, signature, slackBody, teamsBody, webhookBody } from './channels.js';
export { channelIncidentKey, type DeliveryOptions, retryDelay } from './delivery.js';
export { notificationsMetrics } from './metrics.js';
export { notificationsRoutes } from './routes.js';
export * from './schemas.js';
export { channelTarget, Notifications, type NotificationsDeps, type NotificationsInit } from './service.js';
export { notificationsMigrations } from './store.js';
