package io.ds4j.worker;

import io.ds4j.worker.store.SharedPool;

import java.io.IOException;
import java.util.concurrent.ThreadLocalRandom;

/** Real pools in /dev/shm under a name no worker uses, for unit tests of the store. */
public final class TestPools
{
    private TestPools()
    {
    }

    public static SharedPool create(final long bytes) throws IOException
    {
        return SharedPool.create(Worker.SHM_DIR, "ds4j-unittest-" + ProcessHandle.current().pid() + "-", bytes, 64,
            true, false, ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE));
    }
}
