package io.ds4j.benchmarks;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Child processes to stop if this JVM ends early (Ctrl-C, a watchdog): every spawned worker or redis-server registers
 * its close here, and one shutdown hook runs them, newest first. Closing twice is harmless.
 */
final class Children
{
    private static final Deque<Runnable> CLOSERS = new ArrayDeque<>();
    private static boolean hooked;

    private Children()
    {
    }

    static synchronized void register(final Runnable closer)
    {
        if (!hooked)
        {
            hooked = true;
            Runtime.getRuntime().addShutdownHook(new Thread(Children::closeAll, "dsbench-children"));
        }
        CLOSERS.push(closer);
    }

    static void closeAll()
    {
        while (true)
        {
            final Runnable closer;
            synchronized (Children.class)
            {
                closer = CLOSERS.poll();
            }
            if (closer == null)
            {
                return;
            }
            try
            {
                closer.run();
            }
            catch (final RuntimeException ignored)
            {
                // keep stopping the others
            }
        }
    }
}
