package io.ds4j.system;

import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.DsClient;
import io.ds4j.client.ReadOnlyBuffer;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.ds4j.system.SystemTests.randomBytes;
import static io.ds4j.system.SystemTests.sharedKey;
import static io.ds4j.system.SystemTests.sharedSeed;
import static io.ds4j.system.SystemTests.sharedSize;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Client JVMs sharing values through the worker's pool: what one process sets, another reads byte-exact. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class MultiProcessTest
{
    private static final int COUNT = 100;
    private static final Duration CHILD_TIMEOUT = Duration.ofSeconds(45);

    private static WorkerProcess worker;

    @BeforeAll
    static void startWorker()
    {
        worker = WorkerProcess.start("shared_memory_size_mb", "128");
    }

    @AfterAll
    static void stopWorker()
    {
        if (worker != null)
        {
            worker.close();
        }
    }

    private static String[] args(final String... rest)
    {
        final List<String> all = new ArrayList<>(List.of(worker.host(), String.valueOf(worker.port())));
        all.addAll(List.of(rest));
        return all.toArray(String[]::new);
    }

    private static void verifyHere(final String prefix, final long seed)
    {
        try (DsClient client = SystemTests.connect(worker, Transport.AUTO))
        {
            final List<String> keys = new ArrayList<>();
            for (int i = 0; i < COUNT; i++)
            {
                keys.add(sharedKey(prefix, i));
            }
            final List<byte[]> values = client.kv().get(keys, 0);
            final List<ReadOnlyBuffer> views = client.kv().getBuffers(keys, 0);
            for (int i = 0; i < COUNT; i++)
            {
                final byte[] expected = randomBytes(sharedSeed(seed, i), sharedSize(i));
                assertArrayEquals(expected, values.get(i), "get of key " + i);
                assertTrue(views.get(i).isZeroCopy());
                assertArrayEquals(expected, views.get(i).toByteArray(), "getBuffers of key " + i);
                views.get(i).close();
            }
        }
    }

    @Test
    void oneJvmSetsAndAnotherReadsByteExact()
    {
        final String seed = "4242";
        try (ChildJvm writer = ChildJvm.start(args("set", "mp", String.valueOf(COUNT), seed)))
        {
            writer.awaitLine("SET " + COUNT, CHILD_TIMEOUT);
            assertEquals(0, writer.awaitExit(CHILD_TIMEOUT), writer.output());
        }
        try (ChildJvm reader = ChildJvm.start(args("get", "mp", String.valueOf(COUNT), seed)))
        {
            reader.awaitLine("VERIFIED " + COUNT, CHILD_TIMEOUT);
            assertEquals(0, reader.awaitExit(CHILD_TIMEOUT), reader.output());
        }
        verifyHere("mp", 4242);
    }

    @Test
    void aReaderWaitingInOneJvmGetsValuesSetByAnotherJvm()
    {
        final String seed = "77";
        try (ChildJvm reader = ChildJvm.start(args("wait-get", "mp-wait", String.valueOf(COUNT), seed, "30000")))
        {
            reader.awaitLine("WAITING", CHILD_TIMEOUT);
            SystemTests.sleep(300);
            try (ChildJvm writer = ChildJvm.start(args("set", "mp-wait", String.valueOf(COUNT), seed)))
            {
                writer.awaitLine("SET " + COUNT, CHILD_TIMEOUT);
                assertEquals(0, writer.awaitExit(CHILD_TIMEOUT), writer.output());
            }
            reader.awaitLine("VERIFIED " + COUNT, CHILD_TIMEOUT);
            assertEquals(0, reader.awaitExit(CHILD_TIMEOUT), reader.output());
        }
        verifyHere("mp-wait", 77);
    }

    @Test
    void aReaderJvmSeesAWrongSeedAsAMismatch()
    {
        // the check in the child JVM must be able to fail: a different seed is reported, not accepted
        try (ChildJvm writer = ChildJvm.start(args("set", "mp-neg", "3", "1")))
        {
            assertEquals(0, writer.awaitExit(CHILD_TIMEOUT), writer.output());
        }
        try (ChildJvm reader = ChildJvm.start(args("get", "mp-neg", "3", "2")))
        {
            assertEquals(2, reader.awaitExit(CHILD_TIMEOUT), reader.output());
            assertTrue(reader.output().contains("FAIL"), reader.output());
        }
    }
}
