/** When a schedule's slots fall: its cron pattern read in its time zone. */
import cronParser from "cron-parser";

export interface Timing {
  readonly pattern: string;
  readonly timeZone: string;
}

/** The newest slot at or before `now`. */
export function latestDue(timing: Timing, now: Date): Date {
  const interval = cronParser.parseExpression(timing.pattern, {
    currentDate: new Date(now.getTime() + 1),
    tz: timing.timeZone,
  });
  return interval.prev().toDate();
}

/** The first slot after `after`. */
export function nextSlot(timing: Timing, after: Date): Date {
  return cronParser.parseExpression(timing.pattern, { currentDate: after, tz: timing.timeZone }).next().toDate();
}
