package io.ds4j.system;

import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.DsClient;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.ds4j.system.SystemTests.MIB;
import static io.ds4j.system.SystemTests.assertCode;
import static io.ds4j.system.SystemTests.randomBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A client JVM killed with -9 while it holds a zero-copy view and an unpublished buffer: after client_dead_timeout_s
 * the worker reclaims both, and not before; a live client's views are never reclaimed. A client frozen with SIGSTOP
 * keeps its memory however long it is silent (it could touch it the moment it resumes), and a client that exits
 * cleanly gives everything back at once.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class DeadClientTest
{
    private static WorkerProcess worker;
    private static DsClient client;

    @BeforeAll
    static void startWorker()
    {
        worker = WorkerProcess.start("shared_memory_size_mb", "64", "client_dead_timeout_s", "2",
            "heartbeat_interval_ms", "500");
        client = SystemTests.connect(worker, Transport.AUTO);
    }

    @AfterAll
    static void stopWorker()
    {
        if (client != null)
        {
            client.close();
        }
        if (worker != null)
        {
            worker.close();
        }
    }

    private static void set60()
    {
        client.kv().set("dead-60m", new byte[60 * MIB]);
    }

    @Test
    void viewsAndBuffersOfAKilledClientAreReclaimedAfterTheDeadTimeout()
    {
        final byte[] value = randomBytes(1, 32 * MIB);
        client.kv().set("dead-32m", value);
        try (ChildJvm holder = ChildJvm.start(worker.host(), String.valueOf(worker.port()), "hold", "dead-32m",
            String.valueOf(16 * MIB), "120"))
        {
            final String holding = holder.awaitLine("HOLDING", Duration.ofSeconds(45));
            assertEquals("HOLDING " + (32 * MIB) + " " + holder.pid(), holding);
            client.kv().delete("dead-32m");
            assertCode(StatusCode.NOT_FOUND, () -> client.kv().get("dead-32m"));

            // the live holder keeps 32 + 16 MiB: 60 MiB do not fit, not even after the dead timeout has passed,
            // because a live client heartbeats
            assertCode(StatusCode.OUT_OF_MEMORY, DeadClientTest::set60);
            SystemTests.sleep(3500);
            assertTrue(holder.process().isAlive(), holder.output());
            assertCode(StatusCode.OUT_OF_MEMORY, DeadClientTest::set60);
            SystemTests.assertServes(client);

            holder.kill9();
            final long killedAt = System.nanoTime();
            // right after the kill the memory is still held
            assertCode(StatusCode.OUT_OF_MEMORY, DeadClientTest::set60);

            long reclaimedAfterMs = -1;
            while (System.nanoTime() - killedAt < TimeUnit.SECONDS.toNanos(15))
            {
                try
                {
                    set60();
                    reclaimedAfterMs = (System.nanoTime() - killedAt) / 1_000_000;
                    break;
                }
                catch (final DsException e)
                {
                    assertEquals(StatusCode.OUT_OF_MEMORY, e.code(), e.getMessage());
                    SystemTests.sleep(200);
                }
            }
            if (reclaimedAfterMs < 0)
            {
                fail("60 MiB never fit after the holder was killed; worker log:\n"
                    + String.join("\n", worker.logTail(30)));
            }
            assertTrue(reclaimedAfterMs >= 1000, "reclaimed " + reclaimedAfterMs
                + " ms after the kill, before client_dead_timeout_s=2");
            assertArrayEquals(new byte[60 * MIB], client.kv().get("dead-60m"));
            client.kv().delete("dead-60m");

            final List<String> log = worker.logTail(200);
            final String pid = "pid " + holder.pid();
            assertTrue(log.stream().anyMatch(line -> line.contains(pid) && line.contains("reclaimed")),
                "no reclaim of " + pid + " in the worker log:\n" + String.join("\n", log));
            assertTrue(log.stream().anyMatch(line -> line.contains(pid)
                    && line.contains("reclaimed 1 views and 1 unpublished buffers")),
                "the reclaim should count 1 view and 1 buffer:\n" + String.join("\n", log));
        }
        SystemTests.assertWorkerServes(worker);
    }

    /**
     * Sets 40 MiB while the frozen holder's memory is reserved: it must fail for as long as the holder lives, also
     * well past client_dead_timeout_s (2 s), because a frozen process may use its mapping the moment it resumes.
     */
    private static void assertReservedWhileFrozen(final ChildJvm holder, final String key)
    {
        final long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(4500);
        while (System.nanoTime() < until)
        {
            assertCode(StatusCode.OUT_OF_MEMORY, () -> client.kv().set(key, new byte[40 * MIB]));
            SystemTests.sleep(500);
        }
        final String pid = "pid " + holder.pid();
        assertTrue(worker.logTail(100).stream().noneMatch(line -> line.contains(pid) && line.contains("reclaimed")),
            "the memory of a live, frozen client was reclaimed:\n" + String.join("\n", worker.logTail(100)));
    }

    /** After the holder exits cleanly (BYE), its memory is free at once, long before the dead timeout. */
    private static void assertGivenBackAtExit(final ChildJvm holder, final String key)
    {
        holder.tell("EXIT");
        holder.awaitExit(Duration.ofSeconds(30));
        final long exited = System.nanoTime();
        final byte[] other = randomBytes(6, 40 * MIB);
        while (true)
        {
            try
            {
                client.kv().set(key, other);
                break;
            }
            catch (final DsException e)
            {
                assertEquals(StatusCode.OUT_OF_MEMORY, e.code(), e.getMessage());
                assertTrue(System.nanoTime() - exited < TimeUnit.MILLISECONDS.toNanos(1500),
                    "a client that said BYE did not get its memory back promptly:\n"
                        + String.join("\n", worker.logTail(20)));
                SystemTests.sleep(50);
            }
        }
        assertArrayEquals(other, client.kv().get(key));
        final String pid = "pid " + holder.pid();
        assertTrue(worker.logTail(100).stream().anyMatch(line -> line.contains(pid) && line.contains("said goodbye")),
            String.join("\n", worker.logTail(100)));
    }

    @Test
    void aFrozenClientKeepsItsViewAndReadsOnlyItsOwnBytesWhenItResumes()
    {
        final int size = 32 * MIB;
        client.kv().set("frozen", randomBytes(5, size));
        try (ChildJvm holder = ChildJvm.start(worker.host(), String.valueOf(worker.port()), "hold-check", "frozen",
            String.valueOf(size), "5"))
        {
            holder.awaitLine("HOLDING", Duration.ofSeconds(45));
            holder.signal("STOP");
            client.kv().delete("frozen");
            assertReservedWhileFrozen(holder, "reuse");
            holder.signal("CONT");
            holder.tell("CHECK 0");
            assertEquals("RESULT SAME", holder.awaitLine("RESULT", Duration.ofSeconds(30)));
            assertGivenBackAtExit(holder, "reuse");
        }
        finally
        {
            client.kv().delete(List.of("frozen", "reuse"));
        }
        SystemTests.assertWorkerServes(worker);
    }

    @Test
    void aFrozenClientKeepsItsUnpublishedBufferAndWritesOnlyIntoItWhenItResumes()
    {
        final int size = 32 * MIB;
        try (ChildJvm holder = ChildJvm.start(worker.host(), String.valueOf(worker.port()), "hold-write", "frozen-w",
            String.valueOf(size)))
        {
            holder.awaitLine("HOLDING", Duration.ofSeconds(45));
            holder.signal("STOP");
            assertReservedWhileFrozen(holder, "reuse-w");
            holder.signal("CONT");
            holder.tell("WRITE 0");
            assertEquals("RESULT WROTE", holder.awaitLine("RESULT", Duration.ofSeconds(30)));
            assertGivenBackAtExit(holder, "reuse-w");
        }
        finally
        {
            client.kv().delete(List.of("frozen-w", "reuse-w"));
        }
        SystemTests.assertWorkerServes(worker);
    }
}
