package io.ds4j.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code bin/dscli up} and {@code down} as a user runs them, with a cluster config from {@code generate_config}
 * whose {@code worker_nodes} are this machine, against real standalone workers (no etcd): one node, and several on
 * one host with one that cannot start. The cluster on etcd is {@code system-tests} {@code DscliUpDownTest}.
 */
class UpDownScriptTest
{
    private static final Pattern OK_START =
        Pattern.compile("\\[  OK  ] Start worker service @ (\\S+) success, PID: (\\d+)");
    private static final long RUN_TIMEOUT_S = 300;

    private Path workDir;
    private final List<String> addresses = new ArrayList<>();

    /** Exit code and combined stdout/stderr of one bin/dscli run. */
    private record Result(int exit, String output)
    {
    }

    @BeforeEach
    void setUp() throws IOException
    {
        // under /tmp and short: the worker's Unix socket path must stay below the 108-byte sun_path limit
        workDir = Files.createTempDirectory(Path.of("/tmp"), "ds4j-up-");
    }

    @AfterEach
    void tearDown() throws Exception
    {
        // never leave a worker behind, whatever the test did
        for (final String address : addresses)
        {
            for (final ProcessHandle worker : WorkerLauncher.findWorkers(address))
            {
                WorkerLauncher.kill(worker);
            }
        }
        try (Stream<Path> paths = Files.walk(workDir))
        {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList())
            {
                Files.deleteIfExists(path);
            }
        }
    }

    private Result dscli(final String... args) throws Exception
    {
        final Path script = Path.of("").toAbsolutePath().getParent().resolve("bin/dscli");
        final List<String> command = new ArrayList<>();
        command.add(script.toString());
        command.addAll(List.of(args));
        final Process process = new ProcessBuilder(command)
            .directory(workDir.toFile())
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .start();
        final CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> readAll(process));
        if (!process.waitFor(RUN_TIMEOUT_S, TimeUnit.SECONDS))
        {
            process.destroyForcibly();
            fail("bin/dscli " + String.join(" ", args) + " did not finish within " + RUN_TIMEOUT_S + " s");
        }
        return new Result(process.exitValue(), output.get(10, TimeUnit.SECONDS));
    }

    private static String readAll(final Process process)
    {
        try (InputStream in = process.getInputStream())
        {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        catch (final IOException e)
        {
            return "(cannot read output: " + e.getMessage() + ")";
        }
    }

    private static int freePort() throws IOException
    {
        try (ServerSocket socket = new ServerSocket())
        {
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return socket.getLocalPort();
        }
    }

    /** generate_config into a conf/ directory, a 64 MiB pool, and the given worker_nodes and worker_port. */
    @SuppressWarnings("unchecked")
    private Path clusterConfig(final List<String> nodes, final int workerPort) throws Exception
    {
        final Path conf = workDir.resolve("conf");
        final Result generated = dscli("generate_config", "-o", conf.toString());
        assertEquals(0, generated.exit(), generated.output());
        assertTrue(generated.output().contains("dscli up -f " + conf.resolve(ConfigFiles.CLUSTER_CONFIG)),
            generated.output());
        final Path workerConfig = conf.resolve(ConfigFiles.WORKER_CONFIG);
        final Map<String, Object> flags = ConfigFiles.readObject(workerConfig);
        ((Map<String, Object>) flags.get("shared_memory_size_mb")).put("value", "64");
        Files.writeString(workerConfig, ConfigFiles.toJson(flags));
        final Path clusterConfig = conf.resolve(ConfigFiles.CLUSTER_CONFIG);
        final Map<String, Object> cluster = ConfigFiles.readObject(clusterConfig);
        cluster.put("worker_nodes", nodes);
        cluster.put("worker_port", workerPort);
        Files.writeString(clusterConfig, JSON.std.asString(cluster));
        return clusterConfig;
    }

    private static long pidOf(final String output, final String address)
    {
        final Matcher ok = OK_START.matcher(output);
        while (ok.find())
        {
            if (ok.group(1).equals(address))
            {
                return Long.parseLong(ok.group(2));
            }
        }
        throw new AssertionError("no OK line for " + address + " in:\n" + output);
    }

    @Test
    void upAndDownOneLocalNode() throws Exception
    {
        final int port = freePort();
        final String address = "127.0.0.1:" + port;
        addresses.add(address);
        final Path config = clusterConfig(List.of("127.0.0.1"), port);

        // run from another directory: worker_config_path ./worker_config.json is found beside the cluster config
        final Result up = dscli("up", "-f", config.toString(), "-d", workDir.toString(), "-t", "60");
        assertEquals(0, up.exit(), up.output());
        assertTrue(up.output().contains(address + ": local, home " + workDir), up.output());
        assertTrue(up.output().contains("[  OK  ] Up cluster success: 1 of 1 workers started"), up.output());
        final long pid = pidOf(up.output(), address);
        final ProcessHandle worker = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("no process " + pid));
        assertEquals(pid, WorkerLauncher.findWorker(address).map(ProcessHandle::pid).orElse(-1L));
        assertTrue(WorkerLauncher.arguments(worker).contains("--shared_memory_size_mb=64"), "the worker config's flags");
        assertTrue(Files.exists(workDir.resolve("datasystem/probe/ready")), "one worker on the host: its home is -d");

        final Result down = dscli("down", "-f", config.toString());
        assertEquals(0, down.exit(), down.output());
        assertTrue(down.output().contains("[  OK  ] Stop worker service @ " + address + " success, PID: " + pid),
            down.output());
        assertTrue(down.output().contains("[  OK  ] Down cluster success: 1 of 1 workers stopped"), down.output());
        assertFalse(worker.isAlive(), "the worker is gone after down");

        final Result again = dscli("down", "-f", config.toString());
        assertEquals(0, again.exit(), again.output());
        assertTrue(again.output().contains("[  OK  ] Stop worker service @ " + address + ": no worker was running"),
            again.output());
        assertTrue(again.output().contains("0 of 1 workers stopped, 1 not running"), again.output());
    }

    @Test
    void severalWorkersOnOneHostGetTheirOwnHomesAndOneThatCannotStartIsReported() throws Exception
    {
        final String first = "127.0.0.1:" + freePort();
        final String second = "localhost:" + freePort();
        try (ServerSocket taken = new ServerSocket())
        {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            final String blocked = "127.0.0.1:" + taken.getLocalPort();
            addresses.addAll(List.of(first, second, blocked));
            final Path config = clusterConfig(List.of(first, second, blocked), 31501);

            final Result up = dscli("up", "-f", config.toString(), "-d", workDir.toString(), "-t", "60");
            assertEquals(1, up.exit(), up.output());
            final long firstPid = pidOf(up.output(), first);
            final long secondPid = pidOf(up.output(), second);
            assertTrue(up.output().contains("[FAILED] Start worker service @ " + blocked + " failed (local, exit code"
                + " 1); its last output:"), up.output());
            assertTrue(up.output().contains("port " + taken.getLocalPort() + " cannot be bound"),
                "the failed node's own output: " + up.output());
            assertTrue(up.output().contains("[FAILED] Up cluster failed: 2 of 3 workers started; failed: " + blocked),
                up.output());
            assertTrue(up.output().contains("dscli down -f " + config), up.output());
            for (final String address : List.of(first, second))
            {
                final Path home = workDir.resolve(address.replace(':', '_'));
                assertTrue(up.output().contains(address + ": local, home " + home), up.output());
                assertTrue(Files.exists(home.resolve("datasystem/probe/ready")), "each worker has its own home");
            }
            assertTrue(ProcessHandle.of(firstPid).map(ProcessHandle::isAlive).orElse(false),
                "the workers that started keep running");

            final Result down = dscli("down", "-f", config.toString(), "-t", "30");
            assertEquals(0, down.exit(), down.output());
            assertTrue(down.output().contains("[  OK  ] Stop worker service @ " + first + " success, PID: " + firstPid),
                down.output());
            assertTrue(down.output().contains("[  OK  ] Stop worker service @ " + second + " success, PID: "
                + secondPid), down.output());
            assertTrue(down.output().contains("2 of 3 workers stopped, 1 not running"), down.output());
            assertTrue(WorkerLauncher.findWorker(first).isEmpty() && WorkerLauncher.findWorker(second).isEmpty());
        }
    }
}
