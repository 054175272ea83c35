/**
 * The web console: renders what view-model.ts computes, talks only to the REST API (and, in the
 * twin, to /local/* for sign-in, the outbox and the demo). No framework, no CDN: it must work offline.
 */
import type { PrivilegedCall } from '../../../lambdas/domain/privileged-calls.ts';
import type { RequestRecord } from '../../../lambdas/domain/schemas.ts';
import { resourceNameOf } from '../../../lambdas/domain/step-up.ts';
import {
  barChart,
  callView,
  classificationView,
  computeStats,
  deepLinkedCall,
  deepLinkedRequest,
  eligibilityNotice,
  filterRequests,
  formatDuration,
  type HistoryFilter,
  type OutboxEntry,
  outboxView,
  prettyParameters,
  quorumProgress,
  type RequestDetail,
  statusBadge,
  timeLeft,
  timelineView,
} from './view-model.ts';

interface Identity {
  readonly id: string;
  readonly displayName?: string;
  readonly groups: readonly string[];
}

const SESSION_KEY = 'countersign.session';
const POLL_MILLISECONDS = 2000;

type Session = { user: string; token: string };
type Tab = 'pending' | 'history' | 'calls' | 'outbox' | 'stats';
const CALL_STATUSES = ['MATCHED', 'UNAPPROVED', 'FAILED_CALL', 'NOT_AN_AGENT', 'BREAK_GLASS'] as const;

const state: {
  session?: Session;
  tab: Tab;
  requests: RequestRecord[];
  details: Map<string, RequestDetail>;
  selected?: string;
  filter: HistoryFilter;
  outbox: OutboxEntry[];
  calls: PrivilegedCall[];
  /** The Privileged calls tab's status filter; empty: every call. */
  callStatus: string;
  /** The call a chat alert linked to, highlighted. */
  selectedCall?: string;
  /** Reasons being typed, kept across the re-renders that live updates cause. */
  drafts: Map<string, string>;
  /** What was last rendered; a poll that brings nothing new does not touch the page. */
  rendered?: string;
} = {
  tab: 'pending',
  requests: [],
  details: new Map(),
  filter: {},
  outbox: [],
  calls: [],
  callStatus: '',
  drafts: new Map(),
};

const $ = <T extends HTMLElement>(selector: string): T => {
  const element = document.querySelector<T>(selector);
  if (element === null) throw new Error(`missing element ${selector}`);
  return element;
};

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string | undefined)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) if (child !== undefined) element.append(child);
  return element;
}

function announce(message: string): void {
  $('#status-line').textContent = message;
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (state.session) headers.set('authorization', `Bearer ${state.session.token}`);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  const response = await fetch(path, { ...init, headers });
  const text = await response.text();
  const body = text === '' ? {} : JSON.parse(text);
  if (!response.ok) {
    const message = body?.error?.message ?? body?.message ?? `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return body as T;
}

function loadSession(): void {
  const stored = sessionStorage.getItem(SESSION_KEY);
  if (stored !== null) state.session = JSON.parse(stored) as Session;
}

async function signIn(user: string): Promise<void> {
  const { token } = await api<{ token: string }>('/local/token', {
    method: 'POST',
    body: JSON.stringify({ user }),
  });
  state.session = { user, token };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(state.session));
  state.details.clear();
  announce(`Signed in as ${user}`);
  await refresh();
}

function signOut(): void {
  delete state.session;
  sessionStorage.removeItem(SESSION_KEY);
  state.details.clear();
  announce('Signed out');
  render();
}

async function refresh(): Promise<void> {
  try {
    if (state.session === undefined) {
      render();
      return;
    }
    const page = await api<{ items: RequestRecord[] }>('/api/requests?limit=200');
    state.requests = page.items;
    const ids =
      state.tab === 'pending' ? page.items.filter((r) => r.status === 'PENDING').map((r) => r.requestId) : [];
    if (state.selected) ids.push(state.selected);
    await Promise.all(
      [...new Set(ids)].map(async (id) => {
        state.details.set(id, await api<RequestDetail>(`/api/requests/${encodeURIComponent(id)}`));
      }),
    );
    if (state.tab === 'calls') {
      const query = state.callStatus === '' ? '' : `&status=${state.callStatus}`;
      state.calls = (await api<{ items: PrivilegedCall[] }>(`/api/privileged-calls?limit=200${query}`)).items;
    }
    if (state.tab === 'outbox') {
      const outbox = await api<{ items: OutboxEntry[] }>('/local/outbox');
      state.outbox = outbox.items;
    }
    renderIfChanged();
  } catch (error) {
    announce(`Could not refresh: ${(error as Error).message}`);
  }
}

async function vote(
  requestId: string,
  choice: 'approve' | 'deny',
  reason: string,
  stepUpConfirmation?: string,
): Promise<void> {
  state.drafts.delete(requestId);
  try {
    await api(`/api/requests/${encodeURIComponent(requestId)}/votes`, {
      method: 'POST',
      body: JSON.stringify({
        vote: choice,
        ...(reason === '' ? {} : { reason }),
        // The server checks what the reviewer typed; the check here only saves a round trip.
        ...(stepUpConfirmation === undefined ? {} : { stepUpConfirmation }),
      }),
    });
    announce(`${choice === 'approve' ? 'Approved' : 'Denied'} ${requestId}`);
  } catch (error) {
    announce(`Vote not recorded: ${(error as Error).message}`);
  }
  await refresh();
}

/** Closes an after-the-fact review (an unapproved call's, or a break-glass request's). */
async function closeReview(
  path: string,
  draftKey: string,
  outcome: 'ACKNOWLEDGED' | 'ESCALATED',
): Promise<void> {
  const reason = state.drafts.get(draftKey) ?? '';
  try {
    await api(path, {
      method: 'POST',
      body: JSON.stringify({ outcome, ...(reason === '' ? {} : { reason }) }),
    });
    state.drafts.delete(draftKey);
    announce(`Review ${outcome === 'ACKNOWLEDGED' ? 'acknowledged' : 'escalated'}`);
  } catch (error) {
    announce(`Review not closed: ${(error as Error).message}`);
  }
  await refresh();
}

/** Acknowledge (a reason is required) or Escalate, for an open review. */
function reviewControls(path: string, draftKey: string, label: string): HTMLElement {
  const reasonId = `review-reason-${draftKey.replace(/[^A-Za-z0-9-]/g, '-')}`;
  const reason = h('textarea', { id: reasonId, rows: '2', maxlength: '2000' });
  reason.value = state.drafts.get(draftKey) ?? '';
  reason.addEventListener('input', () => state.drafts.set(draftKey, reason.value));
  const acknowledge = h('button', { type: 'button', class: 'approve' }, 'Acknowledge');
  acknowledge.addEventListener('click', () => {
    if (reason.value.trim() === '') {
      announce('A reason is required to acknowledge.');
      reason.focus();
      return;
    }
    void closeReview(path, draftKey, 'ACKNOWLEDGED');
  });
  const escalate = h('button', { type: 'button', class: 'deny' }, 'Escalate');
  escalate.addEventListener('click', () => void closeReview(path, draftKey, 'ESCALATED'));
  return h(
    'div',
    { class: 'vote', role: 'group', 'aria-label': label },
    h('label', { for: reasonId }, 'Reason (required to acknowledge)'),
    reason,
    h('div', { class: 'buttons' }, acknowledge, escalate),
  );
}

function renderCalls(root: HTMLElement): void {
  const status = h('select', { id: 'call-status', 'aria-label': 'Status' });
  for (const value of ['', ...CALL_STATUSES]) {
    const option = h('option', { value }, value === '' ? 'every status' : value);
    if (value === state.callStatus) option.selected = true;
    status.append(option);
  }
  status.addEventListener('change', () => {
    state.callStatus = status.value;
    void refresh();
  });
  root.append(
    h('h2', {}, `Privileged calls (${state.calls.length})`),
    h('div', { class: 'filters' }, status),
  );
  if (state.calls.length === 0) {
    root.append(h('p', {}, 'No privileged calls recorded.'));
    return;
  }
  const head = ['When', 'Who', 'What', 'Resource', 'Outcome', 'Review'].map((text) =>
    h('th', { scope: 'col' }, text),
  );
  const rows = state.calls.map((call) => {
    const view = callView(call);
    const review = view.reviewOpen
      ? reviewControls(
          `/api/privileged-calls/${encodeURIComponent(call.eventId)}/review`,
          `call:${call.eventId}`,
          `Review of ${call.eventId}`,
        )
      : '—';
    return h(
      'tr',
      {
        'data-event-id': call.eventId,
        ...(call.eventId === state.selectedCall ? { class: 'selected' } : {}),
      },
      h('td', {}, h('time', { datetime: call.eventTime }, call.eventTime)),
      h('td', {}, view.who),
      h('td', {}, view.what),
      h('td', {}, view.resource),
      h('td', {}, view.outcome),
      h('td', {}, review),
    );
  });
  root.append(h('table', { class: 'calls' }, h('thead', {}, h('tr', {}, ...head)), h('tbody', {}, ...rows)));
}

function field(label: string, value: Node | string): HTMLElement {
  return h('div', { class: 'field' }, h('dt', {}, label), h('dd', {}, value));
}

function badge(request: RequestRecord): HTMLElement {
  const { text, tone } = statusBadge(request);
  return h('span', { class: `badge ${tone}` }, text);
}

function contextFields(request: RequestRecord): HTMLElement {
  const onBehalfOf = request.agent.onBehalfOf ?? '—';
  const view = classificationView(request.classification);
  // Coloured by severity (High and FAILED alike); the subject is for a copy its source object.
  const classification = h(
    'span',
    {},
    h('span', { class: `severity ${view.level}` }, view.text),
    ...(view.types === '' ? [] : [' ', h('span', { class: 'types' }, `(${view.types})`)]),
    ...(view.subject === undefined ? [] : [h('br'), h('code', {}, view.subject)]),
  );
  return h(
    'dl',
    { class: 'context' },
    field('Agent', `${request.agent.id} (on behalf of ${onBehalfOf})`),
    field('Action', h('code', {}, request.action)),
    field('Resource', h('code', {}, request.resource.arn)),
    field('Justification', request.justification),
    field('Data classification', classification),
    field('Policy', request.policy.reason),
    field('Parameters', h('pre', {}, prettyParameters(request.parameters))),
    field('actionHash', h('code', { class: 'hash' }, request.actionHash)),
  );
}

function voteControls(request: RequestRecord, detail: RequestDetail | undefined): HTMLElement {
  const notice = eligibilityNotice(detail?.canVote);
  if (notice !== undefined) return h('p', { class: 'ineligible', role: 'note' }, notice);
  const reasonId = `reason-${request.requestId}`;
  const reason = h('textarea', { id: reasonId, rows: '2', placeholder: 'Reason (required to deny)' });
  reason.value = state.drafts.get(request.requestId) ?? '';
  reason.addEventListener('input', () => state.drafts.set(request.requestId, reason.value));
  const approve = h('button', { type: 'button', class: 'approve' }, 'Approve');
  const deny = h('button', { type: 'button', class: 'deny' }, 'Deny');
  // Step-up policies ask the reviewer to type the resource's name, as the Slack confirmation does.
  const resourceName = resourceNameOf(request.resource.arn);
  const confirmId = `confirm-${request.requestId}`;
  const confirm = request.policy.stepUp
    ? h('input', { id: confirmId, type: 'text', autocomplete: 'off', spellcheck: 'false' })
    : undefined;
  approve.addEventListener('click', () => {
    if (confirm !== undefined && confirm.value.trim() !== resourceName) {
      announce(`Type ${resourceName} to confirm this approval.`);
      confirm.focus();
      return;
    }
    void vote(request.requestId, 'approve', reason.value.trim(), confirm?.value.trim());
  });
  deny.addEventListener('click', () => {
    if (reason.value.trim() === '') {
      announce('A reason is required to deny.');
      reason.focus();
      return;
    }
    void vote(request.requestId, 'deny', reason.value.trim());
  });
  const confirmation =
    confirm === undefined
      ? undefined
      : h(
          'div',
          { class: 'confirm' },
          h('label', { for: confirmId }, `Step-up: type ${resourceName} to approve`),
          confirm,
        );
  return h(
    'div',
    { class: 'vote' },
    h('label', { for: reasonId }, 'Reason'),
    reason,
    confirmation,
    h('div', {}, approve, deny),
  );
}

function pendingCard(request: RequestRecord): HTMLElement {
  const detail = state.details.get(request.requestId);
  const progress = quorumProgress(request);
  const voters = progress.voters.map((voter) =>
    h('li', {}, `${voter.id}: ${voter.vote}${voter.reason ? ` (${voter.reason})` : ''}`),
  );
  return h(
    'article',
    { class: 'card', 'aria-label': `Request ${request.requestId}`, 'data-request-id': request.requestId },
    h('header', {}, h('h3', {}, `${request.agent.id} → ${request.action}`), badge(request)),
    contextFields(request),
    h(
      'div',
      { class: 'progress' },
      h('meter', {
        min: '0',
        max: String(progress.quorum),
        value: String(progress.approvals),
        'aria-label': 'Quorum',
      }),
      h('span', {}, ` ${progress.label} · ${timeLeft(request, new Date())}`),
      voters.length > 0 ? h('ul', { class: 'voters' }, ...voters) : undefined,
    ),
    voteControls(request, detail),
  );
}

function renderPending(root: HTMLElement): void {
  const pending = state.requests.filter((request) => request.status === 'PENDING');
  root.append(h('h2', {}, `Pending (${pending.length})`));
  if (pending.length === 0)
    root.append(h('p', {}, 'Nothing waits for a decision. Run the demo to see some requests.'));
  for (const request of pending) root.append(pendingCard(request));
}

function filterInput(label: string, key: keyof HistoryFilter, type = 'text'): HTMLElement {
  const id = `filter-${key}`;
  const input = h('input', { id, type, value: String(state.filter[key] ?? '') });
  input.addEventListener('change', () => {
    state.filter = { ...state.filter, [key]: input.value };
    render();
  });
  return h('div', { class: 'filter' }, h('label', { for: id }, label), input);
}

function renderHistory(root: HTMLElement): void {
  const statusId = 'filter-status';
  const status = h('select', { id: statusId });
  for (const value of ['', 'PENDING', 'APPROVED', 'DENIED', 'EXPIRED']) {
    const option = h('option', { value }, value === '' ? 'any' : value);
    if ((state.filter.status ?? '') === value) option.setAttribute('selected', '');
    status.append(option);
  }
  status.addEventListener('change', () => {
    state.filter = { ...state.filter, status: status.value as HistoryFilter['status'] };
    render();
  });
  root.append(
    h('h2', {}, 'History'),
    h(
      'form',
      { class: 'filters', 'aria-label': 'Filters' },
      h('div', { class: 'filter' }, h('label', { for: statusId }, 'Status'), status),
      filterInput('Action', 'action'),
      filterInput('Agent', 'agent'),
      filterInput('Approver', 'approver'),
      filterInput('From', 'from', 'date'),
      filterInput('To', 'to', 'date'),
    ),
  );
  const rows = filterRequests(state.requests, state.filter).map((request) => {
    const open = h('button', { type: 'button', class: 'link' }, request.requestId);
    open.addEventListener('click', () => {
      state.selected = request.requestId;
      void refresh();
    });
    return h(
      'tr',
      request.requestId === state.selected ? { 'aria-current': 'true', class: 'selected' } : {},
      h('td', {}, open),
      h('td', {}, badge(request)),
      h('td', {}, request.action),
      h('td', {}, request.agent.id),
      h('td', {}, request.approvers.join(', ')),
      h('td', {}, request.createdAt.replace('T', ' ').slice(0, 19)),
    );
  });
  const head = ['Request', 'Outcome', 'Action', 'Agent', 'Approvers', 'Created (UTC)'].map((title) =>
    h('th', { scope: 'col' }, title),
  );
  root.append(h('table', {}, h('thead', {}, h('tr', {}, ...head)), h('tbody', {}, ...rows)));
  const detail = state.selected ? state.details.get(state.selected) : undefined;
  if (detail !== undefined) root.append(detailPanel(detail));
}

function detailPanel(detail: RequestDetail): HTMLElement {
  const { request } = detail;
  const entries = timelineView(detail.timeline).map((entry) =>
    h(
      'li',
      {},
      h('time', { datetime: entry.at }, entry.at.replace('T', ' ').slice(0, 23)),
      ` ${entry.label} — ${entry.detail}`,
    ),
  );
  return h(
    'section',
    { class: 'detail', 'aria-label': `Details of ${request.requestId}` },
    h('h3', {}, `${request.requestId} `, badge(request)),
    h('p', {}, request.reason ?? ''),
    contextFields(request),
    ...breakGlassReview(detail),
    h('h4', {}, 'Timeline'),
    h('ol', { class: 'timeline' }, ...entries),
  );
}

/** A break-glass request's after-the-fact review, closable while it is open. */
function breakGlassReview(detail: RequestDetail): HTMLElement[] {
  const { review, request } = detail;
  if (review === undefined) return [];
  const closed = `${review.status}${review.closedBy === undefined ? '' : ` by ${review.closedBy}`}${review.reason === undefined ? '' : `: ${review.reason}`}`;
  return [
    h('h4', {}, 'After-the-fact review'),
    review.status === 'OPEN'
      ? reviewControls(
          `/api/requests/${encodeURIComponent(request.requestId)}/review`,
          `request:${request.requestId}`,
          `Review of ${request.requestId}`,
        )
      : h('p', {}, closed),
  ];
}

function renderOutbox(root: HTMLElement): void {
  root.append(h('h2', {}, `Chat outbox (${state.outbox.length})`));
  for (const entry of [...state.outbox].reverse()) {
    const view = outboxView(entry);
    root.append(
      h(
        'article',
        { class: `message ${view.channel}` },
        h('header', {}, h('strong', {}, view.title), ' ', h('time', { datetime: view.at }, view.at)),
        h('pre', {}, view.lines.join('\n')),
      ),
    );
  }
}

function renderStats(root: HTMLElement): void {
  const stats = computeStats(state.requests);
  const seconds = (value: number | undefined) => (value === undefined ? '—' : formatDuration(value * 1000));
  const counts = Object.entries(stats.byDecision).map(([decision, count]) =>
    h('li', {}, `${decision}: ${count}`),
  );
  const width = 600;
  const height = 160;
  const bars = barChart(
    stats.days.map((dayStats) => ({ label: dayStats.day, value: dayStats.total })),
    width,
    height,
  );
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height + 20}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Requests per day');
  for (const bar of bars) {
    const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    for (const [name, value] of Object.entries({
      x: bar.x,
      y: bar.y,
      width: bar.width,
      height: bar.height,
    })) {
      rect.setAttribute(name, String(value));
    }
    const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    title.textContent = `${bar.label}: ${bar.value}`;
    rect.append(title);
    const label = document.createElementNS('http://www.w3.org/2000/svg', 'text');
    label.setAttribute('x', String(bar.x + bar.width / 2));
    label.setAttribute('y', String(height + 14));
    label.setAttribute('text-anchor', 'middle');
    label.textContent = bar.label.slice(5);
    svg.append(rect, label);
  }
  const perDay = stats.days.map((dayStats) =>
    h(
      'tr',
      {},
      h('td', {}, dayStats.day),
      h('td', {}, String(dayStats.total)),
      h('td', {}, seconds(dayStats.medianSecondsToDecision)),
      h('td', {}, seconds(dayStats.p95SecondsToDecision)),
    ),
  );
  root.append(
    h('h2', {}, 'Stats'),
    h(
      'p',
      {},
      `${stats.total} requests, ${stats.pending} pending. Time to decision: median ${seconds(stats.medianSecondsToDecision)}, p95 ${seconds(stats.p95SecondsToDecision)}.`,
    ),
    h('ul', { class: 'counts' }, ...counts),
    h('figure', {}, svg, h('figcaption', {}, 'Requests per day')),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h('tr', {}, ...['Day', 'Requests', 'Median', 'p95'].map((t) => h('th', { scope: 'col' }, t))),
      ),
      h('tbody', {}, ...perDay),
    ),
  );
}

/** Everything the page shows depends on; equal fingerprints render the same page. */
function fingerprint(): string {
  return JSON.stringify([
    state.session?.user,
    state.tab,
    state.filter,
    state.selected,
    state.requests,
    [...state.details],
    state.outbox,
    state.calls,
    state.callStatus,
  ]);
}

function renderIfChanged(): void {
  if (fingerprint() !== state.rendered) render();
}

function render(): void {
  state.rendered = fingerprint();
  const focused = document.activeElement?.id;
  const signedIn = state.session !== undefined;
  $('#whoami').textContent = signedIn ? `Signed in as ${state.session?.user}` : 'Not signed in';
  $<HTMLButtonElement>('#sign-out').hidden = !signedIn;
  for (const button of document.querySelectorAll<HTMLButtonElement>('nav button[data-tab]')) {
    button.setAttribute('aria-current', String(button.dataset.tab === state.tab));
  }
  const root = $('#view');
  root.replaceChildren();
  if (!signedIn) {
    root.append(h('p', {}, 'Sign in as one of the demo identities to review requests.'));
    return;
  }
  const renderers: Record<Tab, (element: HTMLElement) => void> = {
    pending: renderPending,
    history: renderHistory,
    calls: renderCalls,
    outbox: renderOutbox,
    stats: renderStats,
  };
  renderers[state.tab](root);
  if (focused) document.getElementById(focused)?.focus();
}

/**
 * A review link from Slack or Teams (`?request=<id>`) opens that request's detail in History; an
 * unapproved call's alert (`?call=<eventId>`) opens the Privileged calls tab on it.
 */
function openDeepLink(): void {
  const eventId = deepLinkedCall(location.search);
  if (eventId !== undefined) {
    state.tab = 'calls';
    state.selectedCall = eventId;
    return;
  }
  const requestId = deepLinkedRequest(location.search);
  if (requestId === undefined) return;
  state.tab = 'history';
  state.selected = requestId;
}

async function start(): Promise<void> {
  loadSession();
  openDeepLink();
  const identities = await api<{ users: Identity[] }>('/local/identities');
  const select = $<HTMLSelectElement>('#identity');
  for (const user of identities.users) {
    const groups = user.groups.length > 0 ? user.groups.join(', ') : 'no approver group';
    select.append(h('option', { value: user.id }, `${user.displayName ?? user.id} (${groups})`));
  }
  $('#sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void signIn(select.value).catch((error: Error) => announce(`Sign-in failed: ${error.message}`));
  });
  $('#sign-out').addEventListener('click', signOut);
  for (const button of document.querySelectorAll<HTMLButtonElement>('nav button[data-tab]')) {
    button.addEventListener('click', () => {
      state.tab = button.dataset.tab as Tab;
      void refresh();
    });
  }
  $('#run-demo').addEventListener('click', async () => {
    try {
      const result = await api<{ requestIds: string[] }>('/local/demo', { method: 'POST', body: '{}' });
      announce(`Demo started: ${result.requestIds.length} requests sent by invoice-bot`);
    } catch (error) {
      announce(`Demo failed: ${(error as Error).message}`);
    }
    await refresh();
  });
  await refresh();
  setInterval(() => void refresh(), POLL_MILLISECONDS);
}

void start();
