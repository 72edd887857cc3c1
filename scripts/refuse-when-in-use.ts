import { DataDirInUseError } from "../db/data-dir-lock.ts";

/**
 * Runs `open` (opening or locking the database); when another process holds the embedded
 * database, prints the one line naming it and exits 1 before anything is changed.
 */
export async function refuseWhenInUse<T>(open: () => T | Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
