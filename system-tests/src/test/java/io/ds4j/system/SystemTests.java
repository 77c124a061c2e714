package io.ds4j.system;

import io.ds4j.client.ConnectOptions;
import io.ds4j.client.DsClient;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.function.Executable;

import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Helpers shared by the system tests (not a test class itself). */
final class SystemTests
{
    static final int KIB = 1024;
    static final int MIB = 1024 * 1024;

    private SystemTests()
    {
    }

    /** {@code size} pseudo-random bytes, the same for the same seed in every JVM. */
    static byte[] randomBytes(final long seed, final int size)
    {
        final byte[] bytes = new byte[size];
        final SplittableRandom random = new SplittableRandom(seed);
        int i = 0;
        while (i + 8 <= size)
        {
            long word = random.nextLong();
            for (int b = 0; b < 8; b++)
            {
                bytes[i++] = (byte) word;
                word >>>= 8;
            }
        }
        while (i < size)
        {
            bytes[i++] = (byte) random.nextInt();
        }
        return bytes;
    }

    /** Runs {@code call}, which must throw a {@link DsException} with {@code expected}; returns the exception. */
    static DsException assertCode(final StatusCode expected, final Executable call)
    {
        final DsException e = assertThrows(DsException.class, call, "expected " + expected + "(" + expected.value()
            + ")");
        assertEquals(expected, e.code(), () -> "wrong status code; message: " + e.getMessage());
        return e;
    }

    /** A set + get + delete round trip of a fresh key works on {@code client}. */
    static void assertServes(final DsClient client)
    {
        final String key = "serves-" + UUID.randomUUID();
        final byte[] value = randomBytes(key.hashCode(), 1000);
        client.kv().set(key, value);
        assertArrayEquals(value, client.kv().get(key), "round trip after the error");
        assertEquals(List.of(), client.kv().delete(List.of(key)));
    }

    /** A fresh client (AUTO transport) does a round trip, and the worker process is alive. */
    static void assertWorkerServes(final WorkerProcess worker)
    {
        assertTrue(worker.isAlive(), () -> "worker died; log tail:\n" + String.join("\n", worker.logTail(40))
            + "\nout tail:\n" + String.join("\n", worker.outTail(40)));
        try (DsClient client = connect(worker, ConnectOptions.Transport.AUTO))
        {
            assertServes(client);
        }
    }

    static DsClient connect(final WorkerProcess worker, final ConnectOptions.Transport transport)
    {
        return DsClient.connect(ConnectOptions.builder(worker.host(), worker.port()).transport(transport).build());
    }

    /** Deletes a directory tree if it exists; a leftover must not fail the test. */
    static void deleteTree(final java.nio.file.Path root)
    {
        if (root == null || !java.nio.file.Files.exists(root))
        {
            return;
        }
        try (java.util.stream.Stream<java.nio.file.Path> paths = java.nio.file.Files.walk(root))
        {
            for (final java.nio.file.Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList())
            {
                java.nio.file.Files.deleteIfExists(path);
            }
        }
        catch (final java.io.IOException e)
        {
            // a temp directory left behind is not a test failure
        }
    }

    static void sleep(final long ms)
    {
        try
        {
            Thread.sleep(ms);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
    }

    /** The key of the i-th value the multi-process programs exchange, and its size (small and pool-sized mixed). */
    static String sharedKey(final String prefix, final int i)
    {
        return prefix + ":" + i;
    }

    static int sharedSize(final int i)
    {
        return i % 5 == 0 ? 600 * KIB + i : 1 + (i * 997) % 20_000;
    }

    static long sharedSeed(final long seed, final int i)
    {
        return seed * 1_000_003L + i;
    }
}
