/**
 * Number schemas with the limits of what they are rendered into: durations become Python `timedelta`s (which
 * overflow past `timedelta.max`), counts go into Airflow's 32-bit integer columns, asset URIs into Airflow's
 * 1,500-character identifiers.
 */
import { z } from "zod";
import { ASSET_URI_MAX, ASSET_URI_PATTERN, INT32_MAX, TIMEDELTA_MAX_SECONDS } from "./names.js";

/** A positive whole number of seconds that fits a Python timedelta. */
export const Seconds = z
  .int()
  .positive()
  .max(TIMEDELTA_MAX_SECONDS, {
    message: `must be at most ${TIMEDELTA_MAX_SECONDS} seconds (Python's timedelta.max, 999999999 days)`,
  });

/** A count Airflow stores as a 32-bit integer. */
export function count(min: number, minMessage?: string): z.ZodInt {
  return z
    .int()
    .min(min, minMessage === undefined ? undefined : { message: minMessage })
    .max(INT32_MAX, { message: `must be at most ${INT32_MAX} (a 32-bit integer in Airflow)` });
}

/** An asset URI Airflow accepts. */
export const AssetUri = z
  .string()
  .regex(ASSET_URI_PATTERN, { message: "must be an asset URI `scheme://...` (not airflow://)" })
  .max(ASSET_URI_MAX, {
    message: `must be at most ${ASSET_URI_MAX} characters (Airflow's limit for asset URIs)`,
  });
