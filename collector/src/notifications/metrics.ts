/** The notifications concern's Prometheus families: deliveries accepted and attempts that failed. */
import type { MetricFamily } from '../observability/index.js';
import type { Notifications } from './service.js';

/** Read at scrape time from the delivery worker's own counters. */
export function notificationsMetrics(notifications: Notifications): MetricFamily[] {
  return [
    {
      name: 'outpost_notifications_sent_total',
      help: 'Notifications accepted by their channel',
      type: 'counter',
      read: () => notifications.worker.counters.sent,
    },
    {
      name: 'outpost_notifications_failed_total',
      help: 'Notification delivery attempts that failed (retried)',
      type: 'counter',
      read: () => notifications.worker.counters.failed,
    },
  ];
}
