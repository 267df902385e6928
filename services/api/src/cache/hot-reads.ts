/**
 * The API's hot reads — `GET /v1/fund` and the first page of each redemption list — answered
 * from bodies built once per commit instead of queried on every request.
 *
 * The fund's state changes only when a writer commits: the listener (a block, a reorganisation
 * undone, its cursor touched at the head) or the risk monitor (an assessment). Each announces its
 * commit (`@paimon/core/commit-signal`); a signal makes what it can have changed invalid at once,
 * and the bodies that were in use are rebuilt right away, once, whoever asks meanwhile. Hence:
 *
 * - once a signal has been heard, no request is answered with a body built before it;
 * - requests that find their body being rebuilt share that one rebuild (single flight);
 * - a rebuild that fails stores nothing: its waiters get the error (503 if the database is down,
 *   as without the cache) and the next request rebuilds;
 * - signals can be missed (a LISTEN connection lost, or silent): the checkpoint and the latest
 *   assessment are re-read at most `recheckMs` after they were last confirmed, whenever a cached
 *   body is asked for, and at once when the connection listens again. So a body is never more than
 *   `recheckMs` behind a commit even when every signal is lost, and behind only the signal's own
 *   delivery while they flow.
 *
 * A body is built from one snapshot of the fund's database (repeatable read): its rows and the
 * checkpoint it reports agree. Whatever depends on the caller — a page past the first (a cursor),
 * a list by owner — is never cached here; the routes query for it (and say so, `bypass`).
 *
 * Each lookup, each rebuild and its reason, and the age of the data each cached response served
 * are counted (cache-metrics.ts).
 */
import { EventEmitter } from "node:events";
import { latestAssessment } from "@paimon/core/assessments";
import { CHAIN_COMMIT_CHANNEL, type CommitSignal } from "@paimon/core/commit-signal";
import type {
  Channel,
  Database,
  MetricsDatabase,
  RedemptionRow,
  RedemptionStatus,
  RiskAssessmentRow,
} from "@paimon/core/db";
import type { Logger } from "@paimon/core/logger";
import type { Kysely, Transaction } from "kysely";
import { chainSync, latestRiskMark, latestSnapshot, type ChainSync } from "../fund/fund.repository";
import { presentFund } from "../fund/fund.routes";
import { listRedemptions } from "../redemptions/redemptions.repository";
import { MAX_PAGE_SIZE, redemptionPage } from "../redemptions/redemptions.routes";
import { CacheMeter, type CachedRoute, type CacheMetrics, type RebuildReason } from "./cache-metrics";
import { cachedBody, type CachedBody } from "./cached-body";
import type { CommitSignals } from "./commit-signals";
import { Slot, type Loaded } from "./slot";

export interface HotReadsDeps {
  readonly db: Kysely<Database>;
  readonly metricsDb: Kysely<MetricsDatabase>;
  readonly logger: Logger;
  /** Where lookups, rebuilds and the served data's age are counted (the API's registry). */
  readonly metrics: CacheMetrics;
  /** A cached body is served without re-reading the checkpoint for at most this long after it was last confirmed. */
  readonly recheckMs: number;
  /** A monotonic clock, in milliseconds. @default performance.now */
  readonly now?: () => number;
}

/** `GET /v1/fund` as of the last commit: its body (undefined while nothing is indexed) and the checkpoint it was built at. */
export interface FundRead {
  readonly body: CachedBody | undefined;
  readonly sync: ChainSync | undefined;
}

/** A first page as of the last commit, and the checkpoint it was built at. */
export interface PageRead {
  readonly body: CachedBody;
  readonly sync: ChainSync | undefined;
}

/** A redemption list whose first page is cached: by status and channel (each optional). */
export interface RedemptionList {
  readonly status?: RedemptionStatus | undefined;
  readonly channel?: Channel | undefined;
}

export interface HotReadsEvents {
  /** A body is being rebuilt from the databases, and why. */
  refresh: [{ readonly resource: string; readonly reason: RebuildReason }];
  /** A commit signal has been applied: from now on, nothing it made stale is served. */
  applied: [{ readonly channel: string }];
  /** The checkpoint was re-read; `behind`: something cached had fallen behind it (its signal was missed). */
  recheck: [{ readonly behind: boolean }];
}

/** The latest assessment's identity (what `latestAssessment` would return). */
type RiskMark = Pick<RiskAssessmentRow, "block_number" | "block_hash" | "assessed_at">;

interface FundEntry extends FundRead {
  /** The assessment the body carries; undefined when there was none. */
  readonly risk: RiskMark | undefined;
}

interface ListEntry {
  /** The list's newest MAX_PAGE_SIZE + 1 rows: every first page, whatever its limit, is a slice. */
  readonly rows: readonly RedemptionRow[];
  /** Moves forward when the cursor is touched without a new block (the rows cannot have changed). */
  sync: ChainSync | undefined;
  readonly bodies: Map<number, CachedBody>;
}

/** Page sizes whose serialised bodies a list keeps; others are serialised from its cached rows on each request. */
const MAX_BODIES_PER_LIST = 8;

const sameBlock = (a: ChainSync | undefined, b: ChainSync | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.block_number === b.block_number && a.block_hash === b.block_hash);

const sameCheckpoint = (a: ChainSync | undefined, b: ChainSync | undefined) =>
  sameBlock(a, b) && (a === b || a?.updated_at.getTime() === b?.updated_at.getTime());

const sameRisk = (a: RiskMark | undefined, b: RiskMark | undefined) =>
  a === b ||
  (a !== undefined &&
    b !== undefined &&
    a.block_number === b.block_number &&
    a.block_hash === b.block_hash &&
    a.assessed_at.getTime() === b.assessed_at.getTime());

/** What is known now of the committed state: the checkpoint and, when it was read, the latest assessment. */
interface Observation {
  readonly sync: ChainSync | undefined;
  /** Absent: not observed (a chain signal says nothing of the risk); "unknown": its read failed. */
  readonly risk?: { readonly mark: RiskMark | undefined } | "unknown";
}

const listKey = (list: RedemptionList) => `${list.status ?? "any"}/${list.channel ?? "any"}`;

/** What made the cache compare itself with the committed state: a writer's signal, or a re-read of the checkpoint. */
type ObservedBy = Extract<RebuildReason, "signal" | "recheck" | "reconnect">;

const FUND_ROUTE: CachedRoute = "/v1/fund";
const REDEMPTIONS_ROUTE: CachedRoute = "/v1/redemptions";

export class HotReads extends EventEmitter<HotReadsEvents> {
  readonly #db: Kysely<Database>;
  readonly #metricsDb: Kysely<MetricsDatabase>;
  readonly #logger: Logger;
  readonly #recheckMs: number;
  readonly #now: () => number;
  readonly #meter: CacheMeter;
  readonly #fund: Slot<FundEntry, RebuildReason>;
  readonly #lists = new Map<string, Slot<ListEntry, RebuildReason>>();
  /** When the cached state was last confirmed against the database (the start of that re-read). */
  #verifiedAt = Number.NEGATIVE_INFINITY;
  /** How many times the signals' connections have listened again: a re-read started before the last one confirms nothing. */
  #resyncs = 0;
  #rechecking: { readonly promise: Promise<void>; readonly resyncs: number } | undefined;

  constructor(deps: HotReadsDeps) {
    super();
    this.#db = deps.db;
    this.#metricsDb = deps.metricsDb;
    this.#logger = deps.logger;
    this.#recheckMs = deps.recheckMs;
    this.#now = deps.now ?? (() => performance.now());
    this.#meter = new CacheMeter(deps.metrics);
    // A load no caller gave a reason for is a request's: the first build, or one after a failed one.
    this.#fund = new Slot((cause) => this.#loadFund(cause ?? (this.#fund.attempted ? "retry" : "cold")));
  }

  /** Applies `signals`' commits, and re-checks whenever one of its connections listens again. */
  follow(signals: CommitSignals): void {
    signals.on("signal", (signal) => {
      this.observe(signal);
    });
    signals.on("malformed", ({ channel }) => {
      // Something committed, but what is unknown: everything cached may be stale.
      this.#stale(this.#fund, "signal");
      for (const slot of this.#lists.values()) this.#stale(slot, "signal");
      this.emit("applied", { channel });
    });
    signals.on("listening", () => {
      this.resync();
    });
  }

  /** A writer's commit: what it can have changed is invalid from now on, and rebuilt if it was in use. */
  observe(signal: CommitSignal): void {
    if (signal.channel === CHAIN_COMMIT_CHANNEL) {
      const { blockNumber, blockHash, updatedAt } = signal.checkpoint;
      this.#observe({ sync: { block_number: blockNumber, block_hash: blockHash, updated_at: updatedAt } }, "signal");
    } else {
      // An assessment recorded or forgotten: only the fund carries the risk.
      this.#stale(this.#fund, "signal");
    }
    this.emit("applied", { channel: signal.channel });
  }

  /** Signals may have been missed (a connection listens again): the next read re-checks, and one starts now. */
  resync(): void {
    this.#resyncs += 1;
    this.#verifiedAt = Number.NEGATIVE_INFINITY;
    if (this.#fund.used || this.#lists.size > 0) {
      this.#recheck("reconnect").catch((error: unknown) => {
        this.#logger.warn("re-checking the cached responses failed; the next request tries again", { error });
      });
    }
  }

  /** The fund's read when it is known current without waiting (the common case); else undefined (ask `fund()`). */
  fundNow(): FundRead | undefined {
    const entry = this.#due() ? undefined : this.#fund.current();
    if (entry) this.#hit(FUND_ROUTE, entry);
    return entry;
  }

  /** The fund's read as of the last commit: after the re-check if one is due, and the rebuild if one is needed. */
  fund(): Promise<FundRead> {
    return this.#lookup(FUND_ROUTE, this.#fund);
  }

  /** A list's first page of `limit` when it is known current without waiting; else undefined (ask `redemptions()`). */
  redemptionsNow(list: RedemptionList, limit: number): PageRead | undefined {
    const entry = this.#due() ? undefined : this.#list(list).current();
    if (!entry) return undefined;
    this.#hit(REDEMPTIONS_ROUTE, entry);
    return { body: this.#page(entry, limit), sync: entry.sync };
  }

  /** A list's first page of `limit` as of the last commit. */
  async redemptions(list: RedemptionList, limit: number): Promise<PageRead> {
    const entry = await this.#lookup(REDEMPTIONS_ROUTE, this.#list(list));
    return { body: this.#page(entry, limit), sync: entry.sync };
  }

  /** A request to `route` that the cache does not serve (its route queries): counted beside the lookups. */
  bypass(route: CachedRoute): void {
    this.#meter.lookup(route, "bypass");
  }

  #hit(route: CachedRoute, entry: { readonly sync: ChainSync | undefined }): void {
    this.#meter.lookup(route, "hit");
    this.#meter.served(route, entry.sync);
  }

  /** `slot`'s value for a request that could not have it at once: a hit if the re-check confirms it, else a miss. */
  async #lookup<E extends { readonly sync: ChainSync | undefined }>(
    route: CachedRoute,
    slot: Slot<E, RebuildReason>,
  ): Promise<E> {
    let result: "hit" | "miss" = "miss";
    try {
      if (this.#due()) await this.#recheck("recheck");
      const ready = slot.current();
      if (ready !== undefined) result = "hit";
      const entry = ready ?? (await slot.get());
      this.#meter.served(route, entry.sync);
      return entry;
    } finally {
      this.#meter.lookup(route, result);
    }
  }

  #due(): boolean {
    return this.#now() - this.#verifiedAt >= this.#recheckMs;
  }

  /**
   * Makes stale whatever `observed` shows behind, and returns whether anything was. A body that
   * was not valid anyway (being built, or its last build failed) is built again: for the signal,
   * or — a re-read cannot tell whether it would have been behind — as a retry.
   */
  #observe(observed: Observation, by: ObservedBy): boolean {
    let behind = false;
    const unknown: RebuildReason = by === "signal" ? by : "retry";
    const fund = this.#fund.current();
    const risk = observed.risk;
    if (fund === undefined) {
      this.#stale(this.#fund, unknown);
    } else if (
      !sameCheckpoint(fund.sync, observed.sync) ||
      (risk !== undefined && risk !== "unknown" && !sameRisk(fund.risk, risk.mark))
    ) {
      behind = true;
      this.#stale(this.#fund, by);
    } else if (risk === "unknown") {
      // The latest assessment could not be read: nothing is known to have committed, but the
      // body's risk cannot be confirmed either.
      this.#stale(this.#fund, "retry");
    }
    for (const slot of this.#lists.values()) {
      const list = slot.current();
      if (list !== undefined && sameBlock(list.sync, observed.sync)) {
        // The same block, its cursor touched: the rows stand, the data's age moves on.
        if (list.sync && observed.sync && observed.sync.updated_at > list.sync.updated_at) list.sync = observed.sync;
        continue;
      }
      behind ||= list !== undefined;
      this.#stale(slot, list === undefined ? unknown : by);
    }
    return behind;
  }

  /** Invalid from now on; rebuilt at once (for `reason`) if it was in use, so the next request likely finds it ready. */
  #stale(slot: Slot<FundEntry, RebuildReason> | Slot<ListEntry, RebuildReason>, reason: RebuildReason): void {
    slot.invalidate();
    if (!slot.used) return;
    void (slot.get(reason) as Promise<unknown>).catch((error: unknown) => {
      this.#logger.warn("rebuilding a cached response failed; the next request tries again", { error });
    });
  }

  /**
   * One re-read at a time, shared by every request that finds one due (a new one once the
   * connections listen again); `by` says which it is, for the rebuilds it causes (a request that
   * joins a re-read after a reconnection counts under the reconnection).
   */
  #recheck(by: Exclude<ObservedBy, "signal">): Promise<void> {
    if (this.#rechecking?.resyncs === this.#resyncs) return this.#rechecking.promise;
    const resyncs = this.#resyncs;
    const promise: Promise<void> = this.#reread(resyncs, by).finally(() => {
      if (this.#rechecking?.promise === promise) this.#rechecking = undefined;
    });
    this.#rechecking = { promise, resyncs };
    return promise;
  }

  async #reread(resyncs: number, by: Exclude<ObservedBy, "signal">): Promise<void> {
    const started = this.#now();
    const [sync, risk] = await Promise.all([
      chainSync(this.#db),
      this.#fund.used
        ? latestRiskMark(this.#metricsDb).then(
            (mark) => ({ mark }),
            () => "unknown" as const,
          )
        : undefined,
    ]);
    const behind = this.#observe(risk === undefined ? { sync } : { sync, risk }, by);
    // A signal lost, or one still on its way as the re-read ran ahead of it.
    if (behind) this.#logger.info("re-reading the checkpoint found a commit the signals had not announced yet");
    if (this.#resyncs === resyncs) this.#verifiedAt = Math.max(this.#verifiedAt, started);
    this.emit("recheck", { behind });
  }

  #list(list: RedemptionList): Slot<ListEntry, RebuildReason> {
    const key = listKey(list);
    const existing = this.#lists.get(key);
    if (existing) return existing;
    const slot: Slot<ListEntry, RebuildReason> = new Slot((cause) =>
      this.#loadList(key, list, cause ?? (slot.attempted ? "retry" : "cold")),
    );
    this.#lists.set(key, slot);
    return slot;
  }

  #page(entry: ListEntry, limit: number): CachedBody {
    let body = entry.bodies.get(limit);
    if (body === undefined) {
      body = cachedBody(redemptionPage(entry.rows, limit));
      if (entry.bodies.size < MAX_BODIES_PER_LIST) entry.bodies.set(limit, body);
    }
    return body;
  }

  /** `work` on one snapshot of the fund's database: every row it reads, and the checkpoint, agree. */
  #consistent<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.#db.transaction().setIsolationLevel("repeatable read").setAccessMode("read only").execute(work);
  }

  async #loadFund(reason: RebuildReason): Promise<Loaded<FundEntry>> {
    this.emit("refresh", { resource: "fund", reason });
    this.#meter.rebuild(FUND_ROUTE, reason);
    let riskRead = true;
    const [state, risk] = await Promise.all([
      this.#consistent(async (trx) => ({ snapshot: await latestSnapshot(trx), sync: await chainSync(trx) })),
      latestAssessment(this.#metricsDb).catch((error: unknown) => {
        riskRead = false;
        this.#logger.warn("the metrics database did not answer; serving the fund without its risk", { error });
        return undefined;
      }),
    ]);
    const value: FundEntry = {
      body: state.snapshot && cachedBody(presentFund(state.snapshot, state.sync, risk)),
      sync: state.sync,
      risk: risk && { block_number: risk.block_number, block_hash: risk.block_hash, assessed_at: risk.assessed_at },
    };
    // Without its risk, the body serves the requests that waited for it, not the whole block.
    return { value, keep: riskRead };
  }

  async #loadList(key: string, list: RedemptionList, reason: RebuildReason): Promise<Loaded<ListEntry>> {
    this.emit("refresh", { resource: `redemptions:${key}`, reason });
    this.#meter.rebuild(REDEMPTIONS_ROUTE, reason);
    const { rows, sync } = await this.#consistent(async (trx) => ({
      rows: await listRedemptions(trx, { ...list, limit: MAX_PAGE_SIZE + 1 }),
      sync: await chainSync(trx),
    }));
    return { value: { rows, sync, bodies: new Map() }, keep: true };
  }
}
