/*
 * The stack depot (lib/stackdepot.c): saved stack traces deduplicated behind small integer handles, as
 * SLUB debug's tracks and KASAN's alloc/free tracks keep them. Handle 0 means "no stack"; the same stack
 * always gets the same handle, so a track is one integer however often its stack repeats.
 */

export class StackDepot {
  private readonly stacks: (readonly string[])[] = [];
  private readonly ids = new Map<string, number>();

  /** stack_depot_save(): the handle of this stack (its lines, innermost frame first). */
  save(stack: readonly string[]): number {
    const key = stack.join('\n');
    let handle = this.ids.get(key);
    if (handle === undefined) {
      this.stacks.push(stack);
      handle = this.stacks.length;
      this.ids.set(key, handle);
    }
    return handle;
  }

  /** stack_depot_fetch(): the lines behind a handle (none for 0 or an unknown handle). */
  fetch(handle: number): readonly string[] {
    return this.stacks[handle - 1] ?? [];
  }
}
