import { readFileSync, writeFileSync } from 'node:fs';

/** Resident memory of a process, from the VmRSS and VmHWM lines of `/proc/<pid>/status`. */
export interface ProcessMemory {
  /** Resident set size now. */
  readonly rssKiB: number;
  /** The highest resident set size so far ("high water mark"), since start or the last reset. */
  readonly hwmKiB: number;
}

/** VmRSS and VmHWM out of the text of a `/proc/<pid>/status` file; undefined if either is missing. */
export function parseProcStatusMemory(status: string): ProcessMemory | undefined {
  const kib = (field: string): number | undefined => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    return match === null ? undefined : Number(match[1]);
  };
  const rssKiB = kib('VmRSS');
  const hwmKiB = kib('VmHWM');
  return rssKiB === undefined || hwmKiB === undefined ? undefined : { rssKiB, hwmKiB };
}

/** The memory of process `pid` now; undefined where there is no /proc or the process is gone. */
export function processMemory(pid: number): ProcessMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  return parseProcStatusMemory(status);
}

/**
 * Resets the process's VmHWM to its current RSS (Linux 4.0+: "5" into /proc/<pid>/clear_refs), so
 * that the next reading is the peak of what follows, not of the whole life of the process.
 * False where that is not allowed or not supported.
 */
export function resetPeakMemory(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export function mib(kib: number): number {
  return kib / 1024;
}
