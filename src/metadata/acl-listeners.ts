/** The change listeners of an AclStore, shared by its engines: a listener that throws must not
 *  keep the others from hearing of the change, nor fail the write that caused it. */
export class AclListeners {
  private readonly listeners = new Set<() => void>();

  add(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        process.emitWarning(`ACL change listener threw: ${String(error)}`);
      }
    }
  }
}
