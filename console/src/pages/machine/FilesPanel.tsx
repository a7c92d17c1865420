/**
 * Upload a file to the machine and download one from it, with progress, through the transfer socket (transfer.ts).
 * The collector authorises each (`file.write` to upload, `file.read` to download, on the machine's client — the
 * CLI's rules) and a refusal shows here. A download is handed to the browser as a file once its SHA-256 matches
 * the agent's. Paths are the machine's, as `outpost cp` takes them (absolute).
 */
import { useSignal } from '@preact/signals';
import { ErrorLine } from '../../components/Layout.js';
import { download, MAX_BYTES, upload } from './transfer.js';

function ProgressLine(props: { label: string; done: number; total: number }) {
  return (
    <p class="muted">
      <progress aria-label={props.label} value={props.done} max={Math.max(1, props.total)} />{' '}
      <span data-testid="transfer-progress">{`${props.done} / ${props.total} bytes`}</span>
    </p>
  );
}

/** The last path segment, for the saved file's name (agent paths may use either separator). */
const baseName = (path: string) => path.split(/[\\/]/).filter(Boolean).pop() ?? 'download';

/** Runs one transfer: its progress, then its result line or its error. */
type Run = (label: string, work: (p: (done: number, total: number) => void) => Promise<string>) => Promise<void>;

export default function FilesPanel(props: { agentId: string; onClose(): void }) {
  const progress = useSignal<{ label: string; done: number; total: number } | null>(null);
  const result = useSignal('');
  const error = useSignal<unknown>(null);
  const busy = useSignal(false);
  const run: Run = async (label, work) => {
    error.value = null;
    result.value = '';
    busy.value = true;
    progress.value = { label, done: 0, total: 0 };
    try {
      result.value = await work((done, total) => (progress.value = { label, done, total }));
    } catch (err) {
      error.value = err;
    } finally {
      busy.value = false;
    }
  };
  return (
    <section class="files" aria-labelledby="files-title">
      <h2 id="files-title">Files</h2>
      <UploadForm agentId={props.agentId} run={run} busy={busy.value} />
      <DownloadForm agentId={props.agentId} run={run} busy={busy.value} />
      <p class="muted">{`Up to ${MAX_BYTES >> 20} MiB from the browser; larger files and resumes: outpost cp.`}</p>
      {progress.value && <ProgressLine {...progress.value} />}
      {result.value && (
        <p role="status" data-testid="transfer-result">
          {result.value}
        </p>
      )}
      <ErrorLine error={error.value} />
      <button type="button" onClick={props.onClose}>
        Close files
      </button>
    </section>
  );
}

/** A browser file to a path on the machine. */
function UploadForm(props: { agentId: string; run: Run; busy: boolean }) {
  const upPath = useSignal('');
  const upFile = useSignal<File | null>(null);
  return (
    <form
      class="filters"
      aria-label="Upload to the machine"
      onSubmit={(e) => {
        e.preventDefault();
        const file = upFile.value;
        if (!file) return;
        void props.run('Upload', async (p) => {
          const sha = await upload(props.agentId, upPath.value, file, p);
          return `Uploaded ${file.size} bytes to ${upPath.value} (SHA-256 ${sha}, checked by the agent)`;
        });
      }}
    >
      <label>
        File
        <input
          name="upload-file"
          type="file"
          required
          onChange={(e) => (upFile.value = e.currentTarget.files?.[0] ?? null)}
        />
      </label>
      <label>
        To path
        <input
          name="upload-path"
          required
          placeholder="/tmp/file.txt"
          maxLength={4096}
          value={upPath.value}
          onInput={(e) => (upPath.value = e.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={props.busy}>
        Upload
      </button>
    </form>
  );
}

/** A file of the machine to the browser's downloads, once its SHA-256 matches the agent's. */
function DownloadForm(props: { agentId: string; run: Run; busy: boolean }) {
  const downPath = useSignal('');
  return (
    <form
      class="filters"
      aria-label="Download from the machine"
      onSubmit={(e) => {
        e.preventDefault();
        const path = downPath.value;
        void props.run('Download', async (p) => {
          const { blob, sha256 } = await download(props.agentId, path, p);
          // Handed to the browser's download manager as a file; the object URL is released right after.
          const href = URL.createObjectURL(blob);
          const a = document.createElement('a');
          a.href = href;
          a.download = baseName(path);
          a.click();
          setTimeout(() => URL.revokeObjectURL(href), 10_000);
          return `Downloaded ${blob.size} bytes from ${path} (SHA-256 ${sha256}, checked)`;
        });
      }}
    >
      <label>
        Path on the machine
        <input
          name="download-path"
          required
          placeholder="/var/log/syslog"
          maxLength={4096}
          value={downPath.value}
          onInput={(e) => (downPath.value = e.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={props.busy}>
        Download
      </button>
    </form>
  );
}
