/**
 * The coded error catalogue: every error Outpost shows a person or sends over the wire has a stable code,
 * a message, a hint and, where it crosses HTTP or the agent socket, a status or a WebSocket close code.
 * `docs/errors.md` documents every code; a test keeps the two in step.
 */

/** One catalogue entry. */
export interface ErrorSpec {
  readonly message: string;
  readonly hint: string;
  /** HTTP status when the error answers a request. */
  readonly http: number;
  /** WebSocket close code (4000–4999, application range) when the error ends an agent or technician socket. */
  readonly ws?: number;
}

/** Every error code, with its message, hint, HTTP status and WebSocket close code. */
export const ERRORS = {
  OUTPOST_E_BAD_REQUEST: {
    message: 'The request does not match its schema',
    hint: 'Check the request body, query and parameters against the API reference; the details name the field.',
    http: 400,
  },
  OUTPOST_E_UNAUTHENTICATED: {
    message: 'Authentication required',
    hint: 'Log in (`outpost login`) or send `Authorization: Bearer <api token>`.',
    http: 401,
  },
  OUTPOST_E_LOGIN_FAILED: {
    message: 'Unknown user or wrong password',
    hint: 'Check the e-mail and password; repeated failures are logged in the audit log.',
    http: 401,
  },
  OUTPOST_E_TOTP_REQUIRED: {
    message: 'A one-time code is required for this user',
    hint: 'Send the 6-digit code from the authenticator app as `totp` (CLI: `--totp`).',
    http: 401,
  },
  OUTPOST_E_TOTP_INVALID: {
    message: 'The one-time code is wrong or expired',
    hint: 'Check the device clock and use the current code.',
    http: 401,
  },
  OUTPOST_E_LOGIN_THROTTLED: {
    message: 'Too many failed attempts: wait before trying again',
    hint: 'Wait for the Retry-After time (also `details.retryAfterSec`). The delay grows with each failure from this address or on this account and resets after a success.',
    http: 429,
  },
  OUTPOST_E_REAUTH_FAILED: {
    message: 'The current password or one-time code is wrong',
    hint: 'Changing a password, an e-mail or the second factor needs the current password and, when TOTP is on, the current code.',
    http: 403,
  },
  OUTPOST_E_CSRF_REFUSED: {
    message: 'Cross-site request refused',
    hint: 'A change authenticated by the session cookie must come from the console origin and carry the `X-Outpost-CSRF` header given at login; scripts and the CLI send `Authorization: Bearer`.',
    http: 403,
  },
  OUTPOST_E_FORBIDDEN: {
    message: 'Not allowed',
    hint: 'Your role does not grant this action on this client; ask an admin for the role.',
    http: 403,
  },
  OUTPOST_E_NOT_FOUND: {
    message: 'Not found',
    hint: 'Check the identifier; resources of clients you cannot see are reported as not found.',
    http: 404,
  },
  OUTPOST_E_CONFLICT: {
    message: 'The resource already exists or is in a state that forbids this change',
    hint: 'Reload the resource and retry with the current state.',
    http: 409,
  },
  OUTPOST_E_PAYLOAD_TOO_LARGE: {
    message: 'The message or request is larger than allowed',
    hint: 'Split the data; the limits are in the configuration reference.',
    http: 413,
    ws: 4413,
  },
  OUTPOST_E_INTERNAL: {
    message: 'Internal error',
    hint: 'The collector logged the cause with a request id; report it with that id.',
    http: 500,
    ws: 4500,
  },
  OUTPOST_E_UNAVAILABLE: {
    message: 'The collector is shutting down or at capacity; try again later',
    hint: 'Check the collector address and that `outpost serve` is running there; agents retry by themselves after the delay the collector gave.',
    http: 503,
    ws: 4503,
  },
  OUTPOST_E_BAD_RESPONSE: {
    message: 'The collector answered with a body this CLI does not understand',
    hint: 'The CLI and the collector are probably different versions: run the `outpost` that ships with this collector (`outpost --version`, and the version on the console), or upgrade both.',
    http: 502,
  },
  OUTPOST_E_BAD_MESSAGE: {
    message: 'The message is not valid JSON or does not match its schema',
    hint: 'The agent and the collector disagree on the protocol: update the agent, or report the logged message type.',
    http: 400,
    ws: 4400,
  },
  OUTPOST_E_HELLO_REQUIRED: {
    message: 'The first message on the agent socket must be agent.hello',
    hint: 'Agents send their hello as the first frame; anything else first closes the socket.',
    http: 400,
    ws: 4401,
  },
  OUTPOST_E_HELLO_TIMEOUT: {
    message: 'No hello arrived in time',
    hint: 'The agent connected but did not authenticate; check its logs and clock.',
    http: 408,
    ws: 4408,
  },
  OUTPOST_E_UNEXPECTED_MESSAGE: {
    message: 'A message arrived that is not allowed in this state or direction',
    hint: 'The peer runs an incompatible version or misbehaves; the log names the message type.',
    http: 400,
    ws: 4402,
  },
  OUTPOST_E_PROTOCOL_VERSION: {
    message: 'Unsupported protocol version',
    hint: 'Upgrade the agent: a collector serves agents at most one major version behind.',
    http: 400,
    ws: 4426,
  },
  OUTPOST_E_WEBSOCKET_REQUIRED: {
    message: 'This endpoint speaks WebSocket only',
    hint: 'Connect with a WebSocket client (the agent, `outpost shell`, `outpost cp`); a plain HTTP request cannot use it.',
    http: 426,
  },
  OUTPOST_E_REQUEST_TIMEOUT: {
    message: 'The request did not arrive in time',
    hint: 'The client sent its request too slowly or stopped midway; check the network path and any proxy in it.',
    http: 408,
  },
  OUTPOST_E_ENROLL_TOKEN_INVALID: {
    message: 'The enrollment token is not valid',
    hint: 'Create a new token with `outpost tokens create --site <site>` and copy it exactly.',
    http: 401,
    ws: 4010,
  },
  OUTPOST_E_ENROLL_TOKEN_EXPIRED: {
    message: 'The enrollment token has expired',
    hint: 'Create a new token with a later expiry (`outpost tokens create --expires-in 7d`).',
    http: 401,
    ws: 4011,
  },
  OUTPOST_E_ENROLL_TOKEN_EXHAUSTED: {
    message: 'The enrollment token has no uses left',
    hint: 'Create a new token with more uses (`outpost tokens create --max-uses N`).',
    http: 401,
    ws: 4012,
  },
  OUTPOST_E_ENROLL_TOKEN_REVOKED: {
    message: 'The enrollment token was revoked',
    hint: 'Use a token that is still active (`outpost tokens list`).',
    http: 401,
    ws: 4013,
  },
  OUTPOST_E_AGENT_UNKNOWN: {
    message: 'No agent has this identity',
    hint: 'Enroll the agent again with `outpost-agent enroll --server URL --token T`.',
    http: 401,
    ws: 4014,
  },
  OUTPOST_E_AGENT_REVOKED: {
    message: 'This agent was revoked',
    hint: 'A revoked agent cannot reconnect; enroll it again with a new token if it is trusted.',
    http: 401,
    ws: 4015,
  },
  OUTPOST_E_SIGNATURE_INVALID: {
    message: 'The challenge signature does not verify with the agent key',
    hint: 'The agent key file does not match the enrolled key; enroll again or restore the key file.',
    http: 401,
    ws: 4016,
  },
  OUTPOST_E_REPLACED: {
    message: 'Another connection took over this agent identity',
    hint: 'Two processes share one agent identity (a cloned key file?): give each machine its own enrollment.',
    http: 409,
    ws: 4409,
  },
  OUTPOST_E_RATE_LIMITED: {
    message: 'Too many messages on this connection',
    hint: 'The agent sends faster than the collector allows; the limits are in the configuration reference.',
    http: 429,
    ws: 4429,
  },
  OUTPOST_E_PONG_TIMEOUT: {
    message: 'The peer stopped answering keep-alive pings',
    hint: 'The network path drops idle connections or the agent hangs; it reconnects by itself.',
    http: 408,
    ws: 4410,
  },
  OUTPOST_E_CONFIG_INVALID: {
    message: 'The configuration is not valid',
    hint: 'The details name the file and the field; see the configuration reference in the README.',
    http: 500,
  },
  OUTPOST_E_NATIVE_CACHE_UNSAFE: {
    message: 'The native addon cache directory is not safe to load code from',
    hint: 'The agent extracts its native addons to a directory only it (or root) can write; the details name the path and why it was refused. Fix its owner and mode (0700) or set OUTPOST_NATIVE_CACHE to a safe directory.',
    http: 500,
  },
  OUTPOST_E_NATIVE_ADDON_INTEGRITY: {
    message: 'A native addon does not match the copy inside the executable',
    hint: 'The extracted file was changed and could not be replaced; nothing was loaded. Check the cache directory named in the details for tampering or a full disk.',
    http: 500,
  },
  OUTPOST_E_INSTALL_ARGUMENTS: {
    message: 'The install command line is not valid',
    hint: 'Run `outpost-agent install --help`: --server URL and --token T (or OUTPOST_ENROLL_TOKEN) are required; from a Node checkout give the packaged executable with --executable PATH. Exit code 2 (1639 on Windows).',
    http: 400,
  },
  OUTPOST_E_INSTALL_NOT_ROOT: {
    message: 'Installing or removing the agent service needs root',
    hint: 'Run it as root (sudo), or Administrator on Windows. Exit code 5 (1603 on Windows).',
    http: 403,
  },
  OUTPOST_E_INSTALL_LOCKED: {
    message: 'Another install or uninstall of the agent is running',
    hint: 'Retry when it has finished (MDM and GPO retry on this exit code: 4, or 1618 on Windows); the details name the lock file and the process holding it.',
    http: 409,
  },
  OUTPOST_E_INSTALL_DOWNGRADE: {
    message: 'A newer agent version is already installed',
    hint: 'Install a version at least as new as the installed one, or pass --force to go back to an older one on purpose.',
    http: 409,
  },
  OUTPOST_E_INSTALL_FAILED: {
    message: 'A step of the agent install failed',
    hint: 'The message names the step and the command or file; fix it and run the same install again (it resumes: finished steps change nothing). Exit code 1 (1603 on Windows).',
    http: 500,
  },
  OUTPOST_E_INSTALL_UPDATE_ROOT: {
    message: 'The release root could not be fetched from the collector, or is not the one pinned by its SHA-256',
    hint: 'The install stops before trusting anything. Compare the SHA-256 given (--update-root-sha256, OUTPOST_UPDATE_ROOT_SHA256, UPDATE_ROOT_SHA256) with the one `outpost release keys init` printed on the release machine; a collector with no published release yet has no root to serve (`outpost releases publish`). Exit code 1 (1603 on Windows).',
    http: 502,
  },
  OUTPOST_E_INSTALL_UNSUPPORTED: {
    message: '`outpost-agent install` does not register a service on this platform',
    hint: 'On Windows install the MSI (`msiexec /i outpost-agent.msi /qn SERVER=… TOKEN=…`), which registers the service host; on Linux and macOS run `outpost-agent install` as root.',
    http: 501,
  },
  OUTPOST_E_TLS_PIN_MISMATCH: {
    message: 'The collector certificate does not match the pinned fingerprint',
    hint: 'Check the fingerprint the collector printed at first start (`outpost serve`), or someone is intercepting.',
    http: 495,
  },
  OUTPOST_E_TLS_UNTRUSTED: {
    message: "The collector's certificate is not trusted (self-signed, or from a CA this machine does not know)",
    hint: 'Pass --ca-fingerprint with the SHA-256 fingerprint printed by `outpost serve`, or give the collector a certificate from a CA this machine trusts.',
    http: 495,
  },
  OUTPOST_E_NOT_ENROLLED: {
    message: 'This agent is not enrolled',
    hint: 'Run `outpost-agent enroll --server URL --token T` first, or point at the configuration file with `outpost-agent --config FILE` (or OUTPOST_AGENT_CONFIG); the message says where it looked.',
    http: 400,
  },
  OUTPOST_E_ALREADY_ENROLLED: {
    message: 'This machine is already enrolled',
    hint: 'Pass --force to enroll again with a new key and agent id (then revoke the old agent with `outpost agents revoke <id>`), or give another configuration file with `outpost-agent --config FILE enroll …`.',
    http: 409,
  },
  OUTPOST_E_OUTBOX: {
    message: 'The agent outbox could not be read or written',
    hint: 'Check the permissions and free space of the agent state directory; the details name the file.',
    http: 500,
  },
  OUTPOST_E_PROBE_FAILED: {
    message: 'An inventory probe could not collect its rows',
    hint: 'The details name the probe and the command that failed; run `outpost-agent inventory --probe NAME` on the machine to see it.',
    http: 500,
  },
  OUTPOST_E_PROBE_OUTPUT: {
    message: 'A command printed output an inventory probe cannot parse',
    hint: 'The details name the probe and what was expected; report the command output (it may be empty or truncated).',
    http: 500,
  },
  OUTPOST_E_METRICS_SOURCE: {
    message: 'A metrics source (a tool or the resident helper) could not be read this round',
    hint: 'The agent log names the tool and what it printed; the round reports what it could and the next round retries. Run the tool on the machine to see its output.',
    http: 500,
  },
  OUTPOST_E_INVENTORY_DISABLED: {
    message: 'Inventory is disabled on this agent',
    hint: 'Set "inventory": { "enabled": true } in the agent\'s agent.json (or OUTPOST_INVENTORY=1) and restart the agent.',
    http: 409,
  },
  OUTPOST_E_INVENTORY_ROW: {
    message: "An inventory row does not match its probe's schema; the probe's set was refused",
    hint: 'The probe keeps its previous rows and shows this error. Upgrade the agent or the collector so both know the same probe columns; the log names the agent, the probe and the column.',
    http: 400,
  },
  OUTPOST_E_PROBE_UNSUPPORTED: {
    message: 'This inventory probe does not run on this platform',
    hint: 'See `outpost-agent inventory --help` for the probes of this platform.',
    http: 400,
  },
  OUTPOST_E_REPLAY_INPUT: {
    message: 'The replay input cannot be read',
    hint: 'Give a CSV file with a `timestamp,value` header and a time and a number on every line, or a folder of such files; the message names the file and the line. Nothing was written.',
    http: 400,
  },
  OUTPOST_E_LOCAL_FILE: {
    message: 'A local file cannot be read or written',
    hint: 'Check the path: a file to read must exist; a file to write needs an existing, writable folder. Nothing was written.',
    http: 400,
  },
  OUTPOST_E_POLICY_INVALID: {
    message: 'The detection policy is invalid',
    hint: 'The details name the field and the file; see docs/0003-detection.md for the policy format.',
    http: 400,
  },
  OUTPOST_E_AGENT_OFFLINE: {
    message: 'The agent is not connected',
    hint: 'The machine is off or cannot reach the collector; `outpost agents show <id>` shows when it was last seen.',
    http: 409,
    ws: 4480,
  },
  OUTPOST_E_TICKET_INVALID: {
    message: 'The session ticket is missing, forged, expired or already used',
    hint: 'Open the session again through the collector; tickets are single-use and live for seconds.',
    http: 403,
    ws: 4481,
  },
  OUTPOST_E_SESSION_REFUSED: {
    message: 'The agent refused to open the session',
    hint: "The details carry the agent's reason (shell user, elevation, spawn failure); check the agent log.",
    http: 409,
    ws: 4482,
  },
  OUTPOST_E_SESSION_ENDED: {
    message: 'The session ended',
    hint: 'The session was closed, timed out (idle or maximum duration) or lost its agent; open a new one.',
    http: 410,
    ws: 4483,
  },
  OUTPOST_E_ORIGIN_REFUSED: {
    message: 'The WebSocket Origin is not allowed',
    hint: 'Add the console origin to `sessions.allowedOrigins` in the collector configuration (exact match).',
    http: 403,
    ws: 4484,
  },
  OUTPOST_E_PATH_REFUSED: {
    message: "The path is outside the agent's file roots or is not a plain path",
    hint: "Use an absolute path inside one of the agent's `fileRoots`; `..`, symlink escapes and device names are refused.",
    http: 403,
    ws: 4485,
  },
  OUTPOST_E_CHECKSUM_MISMATCH: {
    message: 'The transferred file does not match its SHA-256',
    hint: 'The transfer was corrupted or the file changed meanwhile; run the copy again.',
    http: 422,
    ws: 4486,
  },
  OUTPOST_E_FILE_IO: {
    message: 'The agent could not read or write the file during the transfer',
    hint: 'The file shrank or vanished, or the disk is full, read-only or failing; the message carries the system error. Run the copy again (`--resume` keeps what arrived).',
    http: 409,
    ws: 4488,
  },
  OUTPOST_E_FILES_UNAVAILABLE: {
    message: 'File transfer cannot be done safely on this agent',
    hint: 'On Linux the agent opens files through /proc/self/fd so that no symlink can redirect a transfer: mount /proc where the agent runs.',
    http: 503,
    ws: 4489,
  },
  OUTPOST_E_RECORDING_FAILED: {
    message: 'The session recording cannot be written',
    hint: 'Check free space and permissions of the collector data directory; `sessions.recordingFailure` sets the policy.',
    http: 503,
    ws: 4487,
  },
  OUTPOST_E_CALENDAR_INVALID: {
    message: 'The coverage calendar is impossible',
    hint: 'Use an IANA time zone, HH:MM intervals that start before they end and do not overlap, and real YYYY-MM-DD holidays; the details name the field.',
    http: 400,
  },
  OUTPOST_E_CONTRACT_INVALID: {
    message: 'The support contract, rotation or routing rule is malformed',
    hint: 'Targets must be positive minutes with resolution no shorter than response, and refer to calendars, sites, users and channels of the same client; see docs/0004-incidents.md.',
    http: 400,
  },
  OUTPOST_E_TRANSITION_INVALID: {
    message: 'The incident cannot make this change from its current state',
    hint: 'Incidents go open → acknowledged → resolved → closed; reopen works within the reopen window. `outpost incidents show <id>` gives the state.',
    http: 409,
  },
  OUTPOST_E_CONSOLE_NOT_BUILT: {
    message: 'The web console is not built on this collector',
    hint: 'Run `pnpm build` (it builds `console/dist`), then restart `outpost serve`; the REST API works meanwhile.',
    http: 503,
  },
  OUTPOST_E_LIVE_LIMIT: {
    message: 'Too many live streams are open',
    hint: 'Each user may hold a few console tabs with live updates at once; close other tabs (they reconnect by themselves when a slot frees).',
    http: 429,
  },
  OUTPOST_E_DELIVERY_FAILED: {
    message: 'The notification channel did not accept the message',
    hint: 'Check the channel URL, SMTP server and credentials; `outpost channels list` shows the last error. Queued messages are retried.',
    http: 502,
  },
  OUTPOST_E_JOB_NO_TARGETS: {
    message: 'The job names no machine you may run it on',
    hint: 'Check the target (agents, site, client or query): it must match at least one agent of a client where you hold tier 2 or above.',
    http: 422,
  },
  OUTPOST_E_JOB_FINISHED: {
    message: 'The job has no pending machine left to change',
    hint: 'A cancelled or finished job stays as it is; `outpost jobs retry <id>` runs the failed machines again as a new job.',
    http: 409,
  },
  OUTPOST_E_JOB_UNSIGNED_SCRIPT: {
    message: 'The agent requires scripts signed by the organisation and this script is not signed',
    hint: 'Sign the script offline (`outpost scripts sign --key FILE <name>`) and send the signature with `outpost scripts add --signature`.',
    http: 422,
  },
  OUTPOST_E_JOB_BAD_SIGNATURE: {
    message: 'The script signature does not verify against the organisation key the agent trusts',
    hint: 'Sign the exact script version with the organisation key whose public half is in the agent configuration (`jobs.scriptPublicKey`).',
    http: 422,
  },
  OUTPOST_E_JOB_UNSUPPORTED: {
    message: 'This machine cannot run this kind of job',
    hint: 'The details name what is missing (no supported package manager, PowerShell scripts on a POSIX machine…).',
    http: 422,
  },
  OUTPOST_E_SIGNING_KEY_INVALID: {
    message: 'The signing key file cannot be used',
    hint: 'Give a PEM Ed25519 private key (`openssl genpkey -algorithm ed25519 -out org-scripts.pem`).',
    http: 400,
  },
  OUTPOST_E_INSTALLER_UNAVAILABLE: {
    message: 'This collector has no agent installers to serve',
    hint: 'Put the packages built by `pnpm package` (with their manifest.json) in the directory named by installers.dir, or beside the collector executable in packages/.',
    http: 404,
  },
  OUTPOST_E_INSTALLER_INTEGRITY: {
    message: 'An installer file does not match the SHA-256 its manifest lists',
    hint: 'The file in the installers directory changed after the manifest was written: rebuild or copy the packages again with their manifest.json.',
    http: 500,
  },
  OUTPOST_E_INSTALLER_THROTTLED: {
    message: 'Too many installer downloads from this address',
    hint: 'Downloads are rate-limited per source address (installers.downloadsPerMinute); wait a minute and retry.',
    http: 429,
  },
  OUTPOST_E_SERVICE_INSTALL: {
    message: 'The collector service cannot be installed or removed',
    hint: 'Run `outpost serve --install-service` as root on a Linux host with systemd; the details name the step that failed.',
    http: 500,
  },
  OUTPOST_E_UPDATE_UNVERIFIED: {
    message: 'The release metadata does not verify against the root this agent trusts',
    hint: 'A signature is missing, below its threshold or made by a key the trusted root does not list (or the metadata was altered). Sign the release with the keys of this root (`outpost release sign`), or rotate the root with the old keys first.',
    http: 422,
  },
  OUTPOST_E_UPDATE_EXPIRED: {
    message: 'The release metadata has expired',
    hint: 'Timestamp, snapshot, targets or root is past its expiry: re-sign (`outpost release sign`) and publish again. A collector replaying old metadata is refused this way.',
    http: 422,
  },
  OUTPOST_E_UPDATE_ROLLBACK: {
    message: 'The release metadata is older than metadata this agent already trusted',
    hint: 'A role version went backwards (a replayed or mixed set of metadata). Publish the newest signed repository.',
    http: 422,
  },
  OUTPOST_E_UPDATE_NO_TARGET: {
    message: 'No signed release of this version exists for this platform',
    hint: 'The signed targets list no executable of the assigned version for this os/arch; build and sign that platform, or assign a version that was signed for it.',
    http: 404,
  },
  OUTPOST_E_UPDATE_DOWNGRADE: {
    message: 'The assigned version is not newer than the highest version this agent has run',
    hint: 'Agents only go forward. To go back, sign the older release again with `--allow-rollback` (`outpost release sign`), then assign it.',
    http: 409,
  },
  OUTPOST_E_UPDATE_TAMPERED: {
    message: 'The downloaded executable does not match its signed length or hash',
    hint: 'The bytes served are not the bytes that were signed; publish the repository again, and check the collector for tampering.',
    http: 422,
  },
  OUTPOST_E_UPDATE_PREFLIGHT: {
    message: 'The new executable did not print its version when run',
    hint: 'The agent ran `<new> --version` (5 s limit) and it failed, timed out or printed another version; the details carry its output. Nothing was swapped.',
    http: 422,
  },
  OUTPOST_E_UPDATE_FETCH: {
    message: 'The release could not be fetched from the collector',
    hint: 'The collector did not serve the metadata or the executable; check that the release was published (`outpost releases list`) and the collector is reachable.',
    http: 502,
  },
  OUTPOST_E_UPDATE_BUSY: {
    message: 'An update is already in progress on this agent',
    hint: 'Wait for the watcher to report its outcome (at most the health deadline) before assigning another version.',
    http: 409,
  },
  OUTPOST_E_UPDATE_NOT_CONFIGURED: {
    message: 'This agent has no trusted release root, so it installs no update',
    hint: 'Install writes `updateRoot` (path of root.json or the JSON itself) into the agent configuration; without it every assignment is refused.',
    http: 409,
  },
  OUTPOST_E_UPDATE_ROLLED_BACK: {
    message: 'The new version did not become healthy and the agent rolled back',
    hint: 'The watcher found that the new version did not complete an authenticated hello within the deadline, or restarted in a loop; the previous version runs again. The details give the reason.',
    http: 409,
  },
  OUTPOST_E_RELEASE_INVALID: {
    message: 'The release repository is not valid',
    hint: 'The collector checks what is published against the root it was first given: metadata must parse, chain from the trusted root, carry valid signatures and list only files that were uploaded with their signed hashes. The details name the file.',
    http: 422,
  },
  OUTPOST_E_RELEASE_KEYS: {
    message: 'The release keys directory is missing or incomplete',
    hint: 'Create it with `outpost release keys init --out DIR` (keep it offline); `sign` needs root.json and the targets, snapshot and timestamp keys in it.',
    http: 400,
  },
  OUTPOST_E_AGENT_TAGS_LIMIT: {
    message: 'An agent may carry at most 32 tags',
    hint: 'Remove tags it no longer needs (`outpost agents tag <agent> remove <tag…>`) before adding others.',
    http: 422,
  },
  OUTPOST_E_ROLLOUT_NO_TARGETS: {
    message: 'The rollout names no enrolled machine',
    hint: 'Check the target (agents, site or client): it must match at least one agent that is not revoked.',
    http: 422,
  },
  OUTPOST_E_ROLLOUT_NO_RELEASE: {
    message: 'The version is not published for every platform the rollout targets',
    hint: 'Sign the release for those platforms (`outpost release sign`) and publish it (`outpost releases publish`), or narrow the target; the details name the missing platforms.',
    http: 422,
  },
  OUTPOST_E_ROLLOUT_STATE: {
    message: 'The rollout is not in a state that allows this',
    hint: 'Pause a running rollout, resume a paused or halted one, abort or roll back one that is not finished; `outpost rollouts status <id>` shows its state. One rollout runs at a time: abort or finish the other first.',
    http: 409,
  },
  OUTPOST_E_ROLLOUT_TIMEOUT: {
    message: 'The machine was not back online on the new version by its rollout deadline',
    hint: 'It may be restarting slowly, offline, or stuck; it counts as a failure of its wave. Check the machine and its update history (`outpost releases history <agent>`); a longer `--deadline` suits slow links.',
    http: 504,
  },
  OUTPOST_E_ROLLOUT_NO_ROLLBACK_TARGET: {
    message: 'No admin-signed rollback target names the version to go back to',
    hint: 'Agents never go back to a version the offline targets key did not sign as a rollback target: sign it again with `outpost release sign --allow-rollback --release <version>`, publish, then run the rollback again. The details name the missing version and platforms.',
    http: 409,
  },
  OUTPOST_E_INSTALL_REGISTRY: {
    message: 'The enrollment left by the Windows installer could not be read or removed from the registry',
    hint: 'Check HKLM\\SOFTWARE\\Outpost as an administrator (`reg query HKLM\\SOFTWARE\\Outpost`); delete the Token value by hand if it is still there.',
    http: 500,
  },
  OUTPOST_E_REQUEST_UNAVAILABLE: {
    message: 'The agent service on this machine is not reachable to file the request',
    hint: 'Check that the agent runs (`outpost-agent status`); the local channel is `/run/outpost-agent/request.sock` for an installed agent (OUTPOST_AGENT_REQUEST_SOCKET names another). Not available on Windows yet.',
    http: 503,
  },
  OUTPOST_E_REQUEST_THROTTLED: {
    message: 'Too many requests from this user on this machine in the last hour',
    hint: 'Call or write to the support desk instead; the limit (20 an hour per user) stops a script or a stuck key from flooding the queue.',
    http: 429,
  },
  OUTPOST_E_REQUEST_PROOF: {
    message: 'The agent could not tell which user is asking',
    hint: 'The command proves the user by creating a file named by the agent in its proof directory; run it as a normal user on this machine, without changing that directory.',
    http: 403,
  },
  OUTPOST_E_CHAT_SIGNATURE: {
    message: 'The chat request is not signed with the shared secret',
    hint: 'Slack: the signing secret of the app (`X-Slack-Signature`, v0); Teams: the outgoing webhook security token (`Authorization: HMAC …`). Set them in the collector configuration (`requests.slack.signingSecret`, `requests.teams.secret`).',
    http: 401,
  },
  OUTPOST_E_CHAT_REPLAYED: {
    message: 'The chat request is too old or was already received',
    hint: 'A Slack request whose timestamp is more than 5 minutes from the collector clock is refused as a replay; check the collector clock (NTP).',
    http: 401,
  },
  OUTPOST_E_CHAT_NOT_CONFIGURED: {
    message: 'This chat channel is not configured on the collector',
    hint: 'Add `requests.slack` or `requests.teams` (secret and the workspace or team → client mapping) to the collector configuration.',
    http: 404,
  },
  OUTPOST_E_SELF_LINK_INVALID: {
    message: 'This sign-in link is unknown, already used or expired',
    hint: 'A link signs in once, within its validity (15 minutes by default, `requests.selfService.linkTtlMs`): ask for a new one on the help page (`/help/`).',
    http: 401,
  },
  OUTPOST_E_SELF_THROTTLED: {
    message: 'Too many sign-in links asked for: wait before asking again',
    hint: 'Links are limited per e-mail address and per network address; wait for the Retry-After time (also `details.retryAfterSec`).',
    http: 429,
  },
  OUTPOST_E_BUS_UNAVAILABLE: {
    message: 'The bus between collector nodes is not reachable',
    hint: 'Check that nats-server runs at the address in `cluster.nats.servers` and that this node may connect; the details name the server. A single `outpost serve` needs no bus.',
    http: 503,
    ws: 4490,
  },
  OUTPOST_E_BUS_TIMEOUT: {
    message: 'The collector node holding this agent did not answer in time',
    hint: 'That node is overloaded or partitioned from the bus; the agent is connected there. Retry; the node logs name the command.',
    http: 504,
    ws: 4491,
  },
  OUTPOST_E_NODE_LOST: {
    message: 'The collector node at the other end stopped answering',
    hint: 'The node holding the agent (or the technician) died or lost the bus; its agents reconnect to another node by themselves: open the session again.',
    http: 503,
    ws: 4492,
  },
  OUTPOST_E_BUS_STREAM: {
    message: 'A relayed byte stream between nodes broke its flow-control protocol',
    hint: 'Frames arrived out of order, were lost (a slow consumer on the bus) or exceeded the credit granted; the session ended. The log names the stream and the reason.',
    http: 502,
    ws: 4493,
  },
  OUTPOST_E_SESSION_ELSEWHERE: {
    message: 'The session is live on another collector node',
    hint: 'A read-only join is served by the node holding the session (details.node); connect to that node, or watch the recording once the session ends.',
    http: 409,
    ws: 4494,
  },
  OUTPOST_E_STORAGE_UNAVAILABLE: {
    message: 'The PostgreSQL database in storage.url cannot be reached',
    hint: 'Check that the server runs, that the host, port, user and database of storage.url are right, and that this host may connect (pg_hba.conf). The message gives the server’s reason; the password is never printed.',
    http: 503,
  },
  OUTPOST_E_STORAGE_IN_USE: {
    message: 'The collector database is in use by another process',
    hint: 'Stop the collector (`systemctl stop outpost`, or end `outpost serve`) before copying its database, then run the command again.',
    http: 409,
  },
  OUTPOST_E_STORAGE_NOT_EMPTY: {
    message: 'The target database already holds data',
    hint: 'Copy into an empty database (CREATE DATABASE outpost_new); the details name the tables that hold rows. Nothing was written.',
    http: 409,
  },
} as const satisfies Record<string, ErrorSpec>;

/** A code from the catalogue. */
export type ErrorCode = keyof typeof ERRORS;

/** Options for an OutpostError: what caused it and machine-readable details (never secrets). */
export interface OutpostErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
  /** A more precise message than the catalogue's; the catalogue's is used when absent. */
  message?: string;
}

/** An error with a catalogue code; the only error type Outpost throws on purpose. */
export class OutpostError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, options: OutpostErrorOptions = {}) {
    const spec: ErrorSpec = ERRORS[code];
    super(options.message ?? spec.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OutpostError';
    this.code = code;
    this.hint = spec.hint;
    this.status = spec.http;
    this.details = options.details;
  }

  /** The WebSocket close code for this error (4500 when the catalogue gives none). */
  get wsCloseCode(): number {
    const spec: ErrorSpec = ERRORS[this.code];
    return spec.ws ?? 4500;
  }
}

/** True when `value` is a code of the catalogue. */
export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERRORS, value);
}

/** The catalogue code for a WebSocket close code, if any. */
export function errorCodeForClose(closeCode: number): ErrorCode | undefined {
  for (const [code, spec] of Object.entries(ERRORS) as [ErrorCode, ErrorSpec][]) {
    if (spec.ws === closeCode) return code;
  }
  return undefined;
}
