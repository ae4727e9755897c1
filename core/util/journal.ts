/** A FIFO async mutex: `acquire()` resolves with the function that releases it. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => next);
    return ready;
  }
}

/** Undo closures recorded by a memory transaction, replayed newest first on rollback. */
export class UndoJournal {
  private readonly steps: (() => unknown)[] = [];

  push(step: () => unknown): void {
    this.steps.push(step);
  }

  rollback(): void {
    for (let i = this.steps.length - 1; i >= 0; i -= 1) this.steps[i]();
    this.steps.length = 0;
  }

  clear(): void {
    this.steps.length = 0;
  }
}
