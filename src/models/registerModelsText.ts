/** Words for download progress in the notification. Pure. */
import { formatBytes } from "./hardwareFit";
import type { DownloadProgress } from "./modelDownload";

export function describeProgress(p: DownloadProgress): string {
  const parts = [`${formatBytes(p.receivedBytes)} of ${formatBytes(p.totalBytes)}`];
  if (p.bytesPerSecond > 0) parts.push(`${formatBytes(p.bytesPerSecond)}/s`);
  if (p.etaSeconds !== undefined) parts.push(`${formatDuration(p.etaSeconds)} left`);
  return parts.join(" · ");
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}
