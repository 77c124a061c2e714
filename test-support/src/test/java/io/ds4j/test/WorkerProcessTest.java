package io.ds4j.test;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A real worker through its whole life: start, connect, kill -9, restart on the same port, stop, close. */
class WorkerProcessTest
{
    private static void connect(final WorkerProcess worker) throws IOException
    {
        try (Socket socket = new Socket())
        {
            socket.connect(new InetSocketAddress(worker.host(), worker.port()), 5000);
        }
    }

    @Test
    void lifecycle() throws Exception
    {
        final Path home;
        try (WorkerProcess worker = WorkerProcess.start(Map.of("max_client_num", "8")))
        {
            home = worker.homeDir();
            assertTrue(worker.isAlive());
            assertEquals("127.0.0.1:" + worker.port(), worker.address());
            assertEquals("8", worker.flags().get("max_client_num"));
            assertTrue(home.toString().startsWith("/tmp/ds4j-test-"), home.toString());
            assertTrue(worker.udsDir().startsWith(home));
            connect(worker);
            assertFalse(worker.logTail(50).isEmpty(), "the worker logs to log_dir/worker.log");

            final long firstPid = worker.pid();
            worker.kill9();
            assertFalse(worker.isAlive());
            assertFalse(ProcessHandle.of(firstPid).map(ProcessHandle::isAlive).orElse(false));

            worker.restart();
            assertTrue(worker.isAlive());
            assertNotEquals(firstPid, worker.pid());
            connect(worker);

            worker.stop();
            assertFalse(worker.isAlive());
            assertFalse(Files.exists(Path.of(worker.flags().get("ready_check_path"))), "a clean stop removes it");
            worker.restart();
            connect(worker);
        }
        assertFalse(Files.exists(home), "close deletes the home directory");
    }

    @Test
    void aFailedStartFailsTheTestWithTheWorkersReason()
    {
        final AssertionError error = assertThrows(AssertionError.class,
            () -> WorkerProcess.start("etcd_address", "127.0.0.1:1"));
        assertTrue(error.getMessage().contains("failed to start"), error.getMessage());
        assertTrue(error.getMessage().contains("etcd_address"), error.getMessage());
    }

    @Test
    void freePortsAreDistinctAndFree()
    {
        final int[] ports = FreePorts.next(5);
        for (int i = 0; i < ports.length; i++)
        {
            assertFalse(FreePorts.inUse(ports[i]));
            for (int j = 0; j < i; j++)
            {
                assertNotEquals(ports[i], ports[j]);
            }
        }
    }
}
