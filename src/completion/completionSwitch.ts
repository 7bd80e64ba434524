/** Whether completions run now: the setting, and a snooze that ends by itself. Pure. */
export class CompletionSwitch {
  private snoozedUntil = 0;

  constructor(
    private readonly enabledSetting: () => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  get active(): boolean {
    return this.enabledSetting() && !this.snoozed;
  }

  get snoozed(): boolean {
    return this.now() < this.snoozedUntil;
  }

  /** Minutes left of a snooze, rounded up; 0 when not snoozed. */
  get snoozeMinutesLeft(): number {
    return this.snoozed ? Math.ceil((this.snoozedUntil - this.now()) / 60_000) : 0;
  }

  snooze(minutes: number): void {
    this.snoozedUntil = this.now() + Math.max(0, minutes) * 60_000;
  }

  resume(): void {
    this.snoozedUntil = 0;
  }
}
