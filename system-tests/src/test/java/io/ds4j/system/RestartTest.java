package io.ds4j.system;

import io.ds4j.client.ConnectOptions;
import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.DsClient;
import io.ds4j.client.ReadOnlyBuffer;
import io.ds4j.client.SetParam;
import io.ds4j.client.WritableBuffer;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.ds4j.system.SystemTests.MIB;
import static io.ds4j.system.SystemTests.assertCode;
import static io.ds4j.system.SystemTests.assertServes;
import static io.ds4j.system.SystemTests.randomBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A worker killed with -9 and started again on the same port: clients reconnect by themselves, views of the old
 * worker fail with CLIENT_WORKER_DISCONNECT instead of showing bytes, and standalone values are gone.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RestartTest
{
    private static WorkerProcess worker;

    @BeforeAll
    static void startWorker()
    {
        worker = WorkerProcess.start("shared_memory_size_mb", "64", "heartbeat_interval_ms", "500");
    }

    @AfterAll
    static void stopWorker()
    {
        if (worker != null)
        {
            worker.close();
        }
    }

    private static void crashAndRestart()
    {
        final long oldPid = worker.pid();
        worker.kill9();
        assertTrue(!worker.isAlive());
        worker.restart();
        assertNotEquals(oldPid, worker.pid());
        assertTrue(worker.isAlive());
    }

    @Test
    void viewsOfTheOldWorkerFailAndTheClientReconnectsByItself()
    {
        try (DsClient client = SystemTests.connect(worker, Transport.AUTO))
        {
            assertTrue(client.usesSharedMemory());
            final byte[] value = randomBytes(1, 2 * MIB);
            client.kv().set("restart-big", value);
            client.kv().set("restart-small", "small".getBytes());
            final ReadOnlyBuffer view = client.kv().getBuffers(List.of("restart-big"), 0).getFirst();
            final ReadOnlyBuffer smallView = client.kv().getBuffers(List.of("restart-small"), 0).getFirst();
            final WritableBuffer pending = client.kv().mcreate(List.of("restart-pending"), new long[] {MIB},
                SetParam.DEFAULT).getFirst();
            assertArrayEquals(value, view.toByteArray());

            crashAndRestart();

            // no kv call: the client notices the new worker on its own (heartbeat, every 500 ms here) and then
            // refuses the old views (that it may show the old bytes until then is RestartStaleViewTest's bug)
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (true)
            {
                try
                {
                    view.data();
                }
                catch (final DsException e)
                {
                    assertEquals(StatusCode.CLIENT_WORKER_DISCONNECT, e.code(), e.getMessage());
                    break;
                }
                assertTrue(System.nanoTime() < deadline, "the client did not notice the restart within 5 s");
                SystemTests.sleep(20);
            }
            assertCode(StatusCode.CLIENT_WORKER_DISCONNECT, view::data);
            assertCode(StatusCode.CLIENT_WORKER_DISCONNECT, view::toByteArray);
            assertCode(StatusCode.CLIENT_WORKER_DISCONNECT, view::asByteBuffer);
            assertCode(StatusCode.CLIENT_WORKER_DISCONNECT, smallView::data);
            assertCode(StatusCode.CLIENT_WORKER_DISCONNECT, pending::data);

            // the same client object works again, and the values of the old worker are gone
            client.kv().set("restart-after", "fresh".getBytes());
            assertArrayEquals("fresh".getBytes(), client.kv().get("restart-after"));
            assertCode(StatusCode.NOT_FOUND, () -> client.kv().get("restart-big"));
            assertCode(StatusCode.NOT_FOUND, () -> client.kv().get("restart-small"));
            assertEquals(List.of(false, false), client.kv().exist(List.of("restart-big", "restart-pending")));
            assertTrue(client.usesSharedMemory(), "after reconnecting the client should map the new pool");

            // publishing a buffer of the old worker fails clearly; closing old buffers and views is harmless
            assertCode(StatusCode.CLIENT_WORKER_DISCONNECT, () -> client.kv().msetBuffer(List.of(pending)));
            pending.close();
            view.close();
            smallView.close();
            assertThrows(IllegalStateException.class, view::data, "a closed view stays closed");

            // zero copy works against the new pool
            final byte[] next = randomBytes(2, 3 * MIB);
            client.kv().set("restart-big", next);
            try (ReadOnlyBuffer fresh = client.kv().getBuffers(List.of("restart-big"), 0).getFirst())
            {
                assertTrue(fresh.isZeroCopy());
                assertArrayEquals(next, fresh.toByteArray());
            }
            client.kv().delete(List.of("restart-big", "restart-after"));
            assertServes(client);
        }
    }

    @Test
    void oldViewsFailEvenWhenTheFirstCallAfterTheRestartIsAKvCall()
    {
        try (DsClient client = SystemTests.connect(worker, Transport.AUTO))
        {
            final byte[] value = randomBytes(3, 1 * MIB);
            client.kv().set("restart-2", value);
            final ReadOnlyBuffer view = client.kv().getBuffers(List.of("restart-2"), 0).getFirst();
            crashAndRestart();
            assertCode(StatusCode.NOT_FOUND, () -> client.kv().get("restart-2"));
            assertCode(StatusCode.CLIENT_WORKER_DISCONNECT, view::data);
            assertServes(client);
            view.close();
        }
    }

    @Test
    void aTcpClientReconnectsToo()
    {
        try (DsClient client = SystemTests.connect(worker, Transport.TCP_INLINE))
        {
            client.kv().set("restart-tcp", "before".getBytes());
            final ReadOnlyBuffer copy = client.kv().getBuffers(List.of("restart-tcp"), 0).getFirst();
            crashAndRestart();
            assertCode(StatusCode.NOT_FOUND, () -> client.kv().get("restart-tcp"));
            assertServes(client);
            // a TCP view is a copy that arrived before the restart: still the bytes that were read
            assertArrayEquals("before".getBytes(), copy.toByteArray());
            copy.close();
        }
    }

    @Test
    void aCallWhileTheWorkerIsDownFailsAfterTheReconnectWaitAndTheClientRecoversLater()
    {
        final ConnectOptions options = ConnectOptions.builder(worker.host(), worker.port()).reconnectWaitMs(1500)
            .build();
        try (DsClient client = DsClient.connect(options))
        {
            client.kv().set("restart-down", "v".getBytes());
            worker.kill9();
            final long start = System.nanoTime();
            assertCode(StatusCode.CLIENT_WORKER_DISCONNECT, () -> client.kv().set("restart-down", "w".getBytes()));
            final long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            assertTrue(elapsedMs < 10_000, "gave up after " + elapsedMs + " ms with a 1500 ms reconnect wait");
            worker.restart();
            SystemTests.sleep(300);
            assertServes(client);
            assertCode(StatusCode.NOT_FOUND, () -> client.kv().get("restart-down"));
        }
    }
}
