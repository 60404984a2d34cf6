import { runLogStoreConformance } from './log-store-conformance.js';
import { MemoryLogStore } from './memory-log-store.js';

// A memory store does not outlive its process: "reopen" closes it and opens the same instance
// again, which must report everything it holds (what a node reads at start-up).
runLogStoreConformance('MemoryLogStore', {
  create() {
    const store = new MemoryLogStore();
    return Promise.resolve({
      store,
      async reopen() {
        await store.close();
        return store;
      },
      cleanup: () => store.close(),
    });
  },
});
