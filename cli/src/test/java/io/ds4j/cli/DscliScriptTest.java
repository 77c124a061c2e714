package io.ds4j.cli;

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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs the real {@code bin/dscli} as a user would, from a temporary working directory, against real worker
 * processes: start, a second start on the same address, stop, and the start failures caught before spawning.
 * The first run may build the CLI jar (bin/dscli does that when it is missing or stale), hence the long timeouts.
 */
class DscliScriptTest
{
    private static final Pattern OK_START =
        Pattern.compile("\\[  OK  ] Start worker service @ (\\S+) success, PID: (\\d+)");
    private static final long RUN_TIMEOUT_S = 300;

    private Path workDir;
    private String address;

    /** Exit code and combined stdout/stderr of one bin/dscli run. */
    private record Result(int exit, String output)
    {
    }

    @BeforeEach
    void setUp() throws IOException
    {
        // under /tmp and short: the worker's Unix socket path must stay below the 108-byte sun_path limit
        workDir = Files.createTempDirectory(Path.of("/tmp"), "ds4j-cli-");
        address = "127.0.0.1:" + freePort();
    }

    @AfterEach
    void tearDown() throws Exception
    {
        // never leave a worker behind, whatever the test did
        for (final ProcessHandle worker : WorkerLauncher.findWorkers(address))
        {
            WorkerLauncher.kill(worker);
        }
        try (Stream<Path> paths = Files.walk(workDir))
        {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList())
            {
                Files.deleteIfExists(path);
            }
        }
    }

    private static Path script()
    {
        // surefire runs with the module directory (cli/) as working directory
        final Path script = Path.of("").toAbsolutePath().getParent().resolve("bin/dscli");
        assertTrue(Files.isExecutable(script), script + " is missing or not executable");
        return script;
    }

    private Result dscli(final String... args) throws Exception
    {
        final List<String> command = new ArrayList<>();
        command.add(script().toString());
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

    @Test
    void startTwiceThenStop() throws Exception
    {
        final Result generated = dscli("generate_config", "-o", workDir.toString());
        assertEquals(0, generated.exit(), generated.output());
        final Path config = workDir.resolve(ConfigFiles.WORKER_CONFIG);
        assertTrue(Files.exists(config), generated.output());

        // defaults < -f file < -w flags: the file's 1024 MiB pool is overridden to 64 MiB
        final Result started = dscli("start", "-f", config.toString(), "-d", workDir.toString(), "-t", "60",
            "-w", "--worker_address", address, "--shared_memory_size_mb", "64");
        assertEquals(0, started.exit(), started.output());
        final Matcher ok = OK_START.matcher(started.output());
        assertTrue(ok.find(), started.output());
        assertEquals(address, ok.group(1));
        final long pid = Long.parseLong(ok.group(2));
        final ProcessHandle worker = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("no process " + pid));
        assertTrue(worker.isAlive());
        assertEquals(pid, WorkerLauncher.findWorker(address).map(ProcessHandle::pid).orElse(-1L));
        assertTrue(Files.exists(workDir.resolve("datasystem/probe/ready")), "./ paths resolve against -d");
        assertTrue(Files.exists(workDir.resolve("datasystem/logs/worker.out")));
        final List<String> arguments = WorkerLauncher.arguments(worker);
        assertTrue(arguments.contains("--shared_memory_size_mb=64"), arguments.toString());

        final Result again = dscli("start", "-d", workDir.toString(), "-w", "--worker_address", address,
            "--shared_memory_size_mb", "64");
        assertNotEquals(0, again.exit(), again.output());
        assertTrue(again.output().contains("already running @ " + address), again.output());
        assertTrue(again.output().contains("PID " + pid), again.output());
        assertTrue(worker.isAlive(), "the running worker is left alone");

        final Result stopped = dscli("stop", "-w", address);
        assertEquals(0, stopped.exit(), stopped.output());
        assertTrue(stopped.output().contains("[  OK  ] Stop worker service @ " + address + " success, PID: " + pid),
            stopped.output());
        assertFalse(worker.isAlive(), "the worker is gone after stop");
        assertTrue(WorkerLauncher.findWorker(address).isEmpty());
        assertFalse(Files.exists(workDir.resolve("datasystem/probe/ready")), "the worker removed its ready file");

        final Result stopAgain = dscli("stop", "--worker_address", address);
        assertEquals(1, stopAgain.exit(), stopAgain.output());
        assertTrue(stopAgain.output().contains("[FAILED] no worker found for " + address), stopAgain.output());
    }

    @Test
    void unknownFlagFailsNamingIt() throws Exception
    {
        final Result result = dscli("start", "-d", workDir.toString(), "-w", "--worker_address", address,
            "--shared_memory_size_mbb", "64");
        assertEquals(2, result.exit(), result.output());
        assertTrue(result.output().contains("--shared_memory_size_mbb"), result.output());
        assertTrue(result.output().contains("did you mean --shared_memory_size_mb"), result.output());
        assertTrue(WorkerLauncher.findWorker(address).isEmpty(), "nothing was spawned");
    }

    @Test
    void poolLargerThanDevShmFailsBeforeSpawning() throws Exception
    {
        final Result result = dscli("start", "-d", workDir.toString(), "-w", "--worker_address", address,
            "--shared_memory_size_mb", "100000000");
        assertNotEquals(0, result.exit(), result.output());
        assertTrue(result.output().contains("/dev/shm"), result.output());
        assertTrue(result.output().contains("--shared_memory_size_mb"), result.output());
        assertTrue(WorkerLauncher.findWorker(address).isEmpty(), "nothing was spawned");
    }
}
