/**
 * Every fund event the books follow, in the order a batch applies them: requests before the
 * settlements and cancellations that resolve them. Listed, not discovered. A new event type is a
 * file beside these and a line here; the decoder, the store and the rollback take it from here.
 */
import { deposited } from "./deposited";
import type { EventType } from "./event-type";
import { layerBalancesUpdated } from "./layer-balances-updated";
import { rebalanceExecuted } from "./rebalance-executed";
import { redemptionCancelled } from "./redemption-cancelled";
import { redemptionRequested } from "./redemption-requested";
import { redemptionSettled } from "./redemption-settled";

export const EVENT_TYPES = [
  deposited,
  redemptionRequested,
  redemptionSettled,
  redemptionCancelled,
  layerBalancesUpdated,
  rebalanceExecuted,
] as const;

type EventOf<T> = T extends EventType<infer E> ? E : never;

/** A decoded fund event: one of the listed types. */
export type FundEvent = EventOf<(typeof EVENT_TYPES)[number]>;
export type FundEventType = FundEvent["type"];

/** The list as the store walks it: any type, any event (each type only ever gets its own). */
export const ALL_EVENT_TYPES: readonly EventType<FundEvent>[] = EVENT_TYPES;

export type { ApplyContext, Effect, EventType, Located, UndoContext, WriteMode } from "./event-type";
