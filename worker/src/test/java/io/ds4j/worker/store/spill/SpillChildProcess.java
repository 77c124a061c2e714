package io.ds4j.worker.store.spill;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * A second worker for {@link SpillStoreTest}: opens a spill store in the directory given as the only argument,
 * spills a small and a large object, prints {@value #READY} and then blocks until killed, holding the lock.
 */
public final class SpillChildProcess
{
    /** Printed once the store is open and holds data. */
    public static final String READY = "SPILL-CHILD-READY";

    private SpillChildProcess()
    {
    }

    /** Entry point; see the class comment. */
    public static void main(final String[] args) throws Exception
    {
        final SpillStore store = SpillStore.open(Path.of(args[0]), 64L << 20, 200, 0.8, 0.6);
        store.write("child-small", 1, MemorySegment.ofArray(new byte[100]));
        store.write("child-large", 1, MemorySegment.ofArray(new byte[2 << 20]));
        System.out.println(READY);
        System.out.flush();
        while (System.in.read() >= 0)
        {
            Thread.onSpinWait();
        }
        store.close();
    }
}
