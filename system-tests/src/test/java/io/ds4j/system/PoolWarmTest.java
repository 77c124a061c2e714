package io.ds4j.system;

import io.ds4j.client.ConnectOptions;
import io.ds4j.client.DsClient;
import io.ds4j.client.SetParam;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static io.ds4j.system.SystemTests.MIB;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A shared-memory client maps the pages of a reserved pool ahead of use (ConnectOptions.Builder#warmPool, protocol.md
 * 5.1 "pool reserved"), so a set of a new key takes no page fault per page of it; this test process is the client,
 * and its own minor-fault count is the measure. The control, a client with the warm-up off, takes one per page: the
 * measure can see them.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PoolWarmTest
{
    private static final int POOL_MB = 384;
    private static final int VALUE = 64 * MIB;
    private static final long PAGES = VALUE / 4096;
    private static final java.util.regex.Pattern MAPPING = java.util.regex.Pattern.compile("[0-9a-f]+-[0-9a-f]+ ");

    @Test
    void aWarmClientSetsANewKeyWithoutAFaultPerPageAndAColdOneTakesThem() throws Exception
    {
        final byte[] value = new byte[VALUE];
        Arrays.fill(value, (byte) 7); // touched here, so only the pool's pages can fault below
        try (WorkerProcess worker = WorkerProcess.start("shared_memory_size_mb", Integer.toString(POOL_MB)))
        {
            final String file = "_" + worker.port() + "-"; // the pool file's name (SharedPool.namePrefix)
            try (DsClient warm = DsClient.connect(ConnectOptions.builder(worker.host(), worker.port()).build()))
            {
                warm.kv().set("warm-up", new byte[100], SetParam.DEFAULT);
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (residentKb(file) < POOL_MB * 1024L * 9 / 10)
                {
                    assertTrue(System.nanoTime() < deadline, "the client did not map the pool within 60 s: "
                        + residentKb(file) + " KiB of " + POOL_MB * 1024 + " KiB resident");
                    Thread.sleep(50);
                }
                // the first large set loads and compiles its code path (some 800 faults of the JVM's own; later sets
                // see up to some 500 of them, of its compiler and collector threads)
                warm.kv().set("warm-up-large", value, SetParam.DEFAULT);
                final long before = minorFaults();
                warm.kv().set("fresh-warm", value, SetParam.DEFAULT);
                final long faults = minorFaults() - before;
                assertTrue(faults < PAGES / 8, "a warm client's set of a new " + VALUE / MIB + " MiB key took " + faults
                    + " minor faults (" + PAGES + " pages)");
                assertArrayEquals(value, warm.kv().get("fresh-warm"));
                warm.kv().delete(java.util.List.of("warm-up-large", "fresh-warm"));
            }
            try (DsClient cold = DsClient.connect(ConnectOptions.builder(worker.host(), worker.port()).warmPool(false)
                .build()))
            {
                cold.kv().set("warm-up-cold", value, SetParam.DEFAULT); // the next key lands in other pages
                final long before = minorFaults();
                cold.kv().set("fresh-cold", value, SetParam.DEFAULT);
                final long faults = minorFaults() - before;
                assertTrue(faults >= PAGES / 2, "a client without the warm-up took only " + faults + " minor faults"
                    + " for a new " + VALUE / MIB + " MiB key: the measure would not see the faults it saves");
            }
        }
    }

    /** This process's minor page faults so far (/proc/self/stat, field 10). */
    private static long minorFaults() throws IOException
    {
        final String stat = Files.readString(Path.of("/proc/self/stat"));
        final String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[7]);
    }

    /** The resident KiB of this process's mappings of files whose path contains {@code marker} (/proc/self/smaps). */
    private static long residentKb(final String marker) throws IOException
    {
        long kb = 0;
        boolean inside = false;
        for (final String line : Files.readAllLines(Path.of("/proc/self/smaps")))
        {
            if (MAPPING.matcher(line).lookingAt())
            {
                inside = line.contains("/dev/shm/") && line.contains(marker);
            }
            else if (inside && line.startsWith("Rss:"))
            {
                kb += Long.parseLong(line.replaceAll("\\D+", ""));
            }
        }
        return kb;
    }
}
