package io.ds4j.system;

import io.ds4j.client.Buffer;
import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.CreateParam;
import io.ds4j.client.DsClient;
import io.ds4j.common.StatusCode;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.ds4j.system.SystemTests.KIB;
import static io.ds4j.system.SystemTests.assertCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The object header's latch and the global reference counts across client JVMs: several processes hammering one
 * object lose no update and never read a half-written value; a latch whose holder was killed with -9 is given back
 * once the worker reclaims the dead client (client_dead_timeout_s=2); a reference of a killed process is released
 * the same way, while a process that exits cleanly releases only what it still held.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ObjectLatchMultiProcessTest
{
    private static final Duration CHILD_TIMEOUT = Duration.ofSeconds(45);

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

    private static ChildJvm child(final String... rest)
    {
        final List<String> all = new ArrayList<>(List.of(worker.host(), String.valueOf(worker.port())));
        all.addAll(List.of(rest));
        return ChildJvm.startMain(ObjectProgram.class, all.toArray(String[]::new));
    }

    private static void closeAll(final List<ChildJvm> children)
    {
        children.forEach(ChildJvm::close);
    }

    @Test
    void threeProcessesIncrementingUnderTheWriteLatchLoseNoUpdate()
    {
        final String key = "latch-counter";
        client.object().put(key, new byte[8], CreateParam.DEFAULT);
        final List<ChildJvm> children = new ArrayList<>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                children.add(child("count", key, "2000"));
            }
            children.forEach(c -> c.awaitLine("READY", CHILD_TIMEOUT));
            children.forEach(c -> c.tell("GO"));
            for (final ChildJvm c : children)
            {
                assertEquals("COUNTED 2000", c.awaitLine("COUNTED", CHILD_TIMEOUT));
                assertEquals(0, c.awaitExit(CHILD_TIMEOUT), c.output());
            }
        }
        finally
        {
            closeAll(children);
        }
        try (Buffer buffer = client.object().get(List.of(key), 0).getFirst())
        {
            assertEquals(6000, buffer.immutableData().get(ValueLayout.JAVA_LONG, 0), "lost updates");
            buffer.wLatch(0); // every process gave the latch back
            buffer.unWLatch();
        }
        client.kv().delete(key);
    }

    @Test
    void readersUnderTheReadLatchNeverSeeAHalfWrittenValue()
    {
        final String key = "latch-fill";
        client.object().put(key, new byte[64 * KIB], CreateParam.DEFAULT);
        final List<ChildJvm> children = new ArrayList<>();
        try
        {
            final ChildJvm writer = child("fill", key, "3000");
            children.add(writer);
            children.add(child("check", key, "3000"));
            children.add(child("check", key, "3000"));
            children.forEach(c -> c.awaitLine("READY", CHILD_TIMEOUT));
            children.forEach(c -> c.tell("GO"));
            final long filled = Long.parseLong(writer.awaitLine("FILLED", CHILD_TIMEOUT).split(" ")[1]);
            assertTrue(filled >= 20, "the writer made little progress: " + filled + " rounds");
            final StringBuilder progress = new StringBuilder("latch fill: writer " + filled + " rounds, readers");
            for (final ChildJvm reader : children.subList(1, 3))
            {
                final String[] checked = reader.awaitLine("CHECKED", CHILD_TIMEOUT).split(" ");
                progress.append(' ').append(checked[1]).append(" rounds (").append(checked[3]).append(" values)");
                final long rounds = Long.parseLong(checked[1]);
                assertEquals(0, Long.parseLong(checked[2]), "torn reads in " + rounds + " rounds");
                assertTrue(rounds >= 20, "a reader made little progress: " + rounds + " rounds");
                assertTrue(Integer.parseInt(checked[3]) >= 2, "a reader never saw the writer's changes");
            }
            System.out.println(progress);
            for (final ChildJvm c : children)
            {
                assertEquals(0, c.awaitExit(CHILD_TIMEOUT), c.output());
            }
        }
        finally
        {
            closeAll(children);
        }
        client.kv().delete(key);
    }

    @Test
    void aWriteLatchOfAKilledProcessIsGivenBackAfterTheReclaim()
    {
        final String key = "latch-dead-writer";
        client.object().put(key, new byte[128], CreateParam.DEFAULT);
        try (ChildJvm holder = child("hold-w", key);
            Buffer buffer = client.object().get(List.of(key), 0).getFirst())
        {
            holder.awaitLine("HOLDING", CHILD_TIMEOUT);
            assertCode(StatusCode.TRY_AGAIN, () -> buffer.wLatch(0));
            assertCode(StatusCode.TRY_AGAIN, () -> buffer.rLatch(100));
            holder.kill9();
            final long killed = System.nanoTime();
            buffer.wLatch(15_000);
            final long tookMs = (System.nanoTime() - killed) / 1_000_000;
            buffer.unWLatch();
            assertTrue(tookMs <= 6_000, "the dead writer's latch came back after " + tookMs + " ms");
            assertReclaimLogged(holder, "undid 1 latch holds");
        }
        client.kv().delete(key);
    }

    @Test
    void aReadLatchOfAKilledProcessIsGivenBackToTheWaitingWriter()
    {
        final String key = "latch-dead-reader";
        client.object().put(key, new byte[128], CreateParam.DEFAULT);
        try (ChildJvm holder = child("hold-r", key);
            Buffer writer = client.object().get(List.of(key), 0).getFirst();
            Buffer reader = client.object().get(List.of(key), 0).getFirst())
        {
            holder.awaitLine("HOLDING", CHILD_TIMEOUT);
            assertCode(StatusCode.TRY_AGAIN, () -> writer.wLatch(100));
            reader.rLatch(0); // readers share
            reader.unRLatch();
            final CompletableFuture<Long> waiting = CompletableFuture.supplyAsync(() ->
            {
                writer.wLatch(15_000);
                return System.nanoTime();
            });
            // the waiting writer has claimed the latch: new readers stay out, so it cannot be starved
            final long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (System.nanoTime() < until && !writerClaimed(reader))
            {
                SystemTests.sleep(5);
            }
            assertCode(StatusCode.TRY_AGAIN, () -> reader.rLatch(0));
            holder.kill9();
            final long killed = System.nanoTime();
            final long acquired = waiting.join();
            final long tookMs = (acquired - killed) / 1_000_000;
            writer.unWLatch();
            assertTrue(tookMs <= 6_000, "the dead reader's latch came back after " + tookMs + " ms");
            reader.rLatch(0);
            reader.unRLatch();
            assertReclaimLogged(holder, "undid 1 latch holds");
        }
        client.kv().delete(key);
    }

    /** True once rLatch(0) fails: a writer holds or has claimed the latch. */
    private static boolean writerClaimed(final Buffer reader)
    {
        try
        {
            reader.rLatch(0);
            reader.unRLatch();
            return false;
        }
        catch (final io.ds4j.common.DsException e)
        {
            return e.code() == StatusCode.TRY_AGAIN;
        }
    }

    @Test
    void referencesOfAnExitedAndAKilledProcessAreReleased()
    {
        final String key = "ref-two-jvms";
        client.object().put(key, "shared".getBytes(), CreateParam.DEFAULT);
        try (ChildJvm first = child("ref", key); ChildJvm second = child("ref", key))
        {
            first.awaitLine("REFERENCED", CHILD_TIMEOUT);
            second.awaitLine("REFERENCED", CHILD_TIMEOUT);
            assertEquals(2, client.object().queryGlobalRefNum(key));
            first.tell("DEC");
            first.awaitLine("DECREASED", CHILD_TIMEOUT);
            assertEquals(0, first.awaitExit(CHILD_TIMEOUT), first.output());
            assertEquals(1, client.object().queryGlobalRefNum(key));
            assertTrue(exists(key), "the second process still references it");

            second.kill9();
            final long killed = System.nanoTime();
            while (exists(key) && System.nanoTime() - killed < TimeUnit.SECONDS.toNanos(15))
            {
                SystemTests.sleep(100);
            }
            final long tookMs = (System.nanoTime() - killed) / 1_000_000;
            assertFalse(exists(key), "the killed process's reference was never released");
            assertTrue(tookMs >= 1_000, "released " + tookMs + " ms after the kill, before client_dead_timeout_s=2");
            assertReclaimLogged(second, "released 1 global references");
        }
    }

    private static boolean exists(final String key)
    {
        return client.kv().exist(List.of(key)).getFirst();
    }

    private static void assertReclaimLogged(final ChildJvm child, final String what)
    {
        final String pid = "(pid " + child.pid() + ")";
        final long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < until)
        {
            if (worker.logTail(200).stream().anyMatch(line -> line.contains(pid) && line.contains(what)))
            {
                return;
            }
            SystemTests.sleep(50);
        }
        fail("no '" + what + "' for " + pid + " in the worker log:\n" + String.join("\n", worker.logTail(40)));
    }
}
