/** The stream concern's Prometheus families: committed and duplicate messages, commit batches. */
import type { MetricFamily } from '../observability/index.js';
import type { StreamIngest } from './ingest.js';

/** Read at scrape time from the ingest's own counters. */
export function streamMetrics(ingest: StreamIngest): MetricFamily[] {
  return [
    {
      name: 'outpost_stream_committed_total',
      help: 'Sequenced agent messages committed',
      type: 'counter',
      read: () => ingest.counters.committed,
    },
    {
      name: 'outpost_stream_duplicates_total',
      help: 'Resent agent messages ignored',
      type: 'counter',
      read: () => ingest.counters.duplicates,
    },
    {
      name: 'outpost_stream_batches_total',
      help: 'Stream commit batches',
      type: 'counter',
      read: () => ingest.counters.batches,
    },
  ];
}
