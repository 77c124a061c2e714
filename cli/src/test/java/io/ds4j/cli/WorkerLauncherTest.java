package io.ds4j.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Waiting, failure reasons, finding and stopping, with small shell processes standing in for a worker (so these
 * run without one): bash's {@code $0} and {@code $1} put the main class and the address flag into the command line.
 */
class WorkerLauncherTest
{
    @TempDir
    private Path dir;

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void killLeftovers()
    {
        started.forEach(Process::destroyForcibly);
    }

    private Process bash(final String script, final String... args) throws IOException
    {
        final List<String> command = new ArrayList<>(List.of("bash", "-c", script));
        command.addAll(List.of(args));
        final Process process = new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("worker.out").toFile()))
            .start();
        started.add(process);
        return process;
    }

    private WorkerLauncher.Spawned spawned(final Process process) throws IOException
    {
        final Map<String, String> flags = WorkerLauncher.resolve(Map.of("ready_check_path", "ready",
            "log_dir", "."), dir);
        return new WorkerLauncher.Spawned(process, flags, List.of("bash"), dir.resolve("worker.out"), 0,
            Instant.now().minusSeconds(1));
    }

    @Test
    void readyWhenTheReadyFileAppears() throws Exception
    {
        final Path ready = dir.resolve("ready");
        final WorkerLauncher.Spawned spawned = spawned(bash("sleep 0.3; touch '" + ready + "'; sleep 30"));
        assertEquals(ready, spawned.readyFile(), "relative paths resolve against the home directory");
        assertEquals(WorkerLauncher.Outcome.READY, WorkerLauncher.awaitReady(spawned, Duration.ofSeconds(20),
            null));
    }

    @Test
    void timesOutAndReportsProgressWhileNotReady() throws Exception
    {
        final WorkerLauncher.Spawned spawned = spawned(bash("sleep 30"));
        final AtomicInteger calls = new AtomicInteger();
        final Instant before = Instant.now();
        final WorkerLauncher.Outcome outcome = WorkerLauncher.awaitReady(spawned, Duration.ofMillis(5500),
            waited -> calls.incrementAndGet());
        assertEquals(WorkerLauncher.Outcome.TIMED_OUT, outcome);
        assertTrue(Duration.between(before, Instant.now()).toMillis() >= 5000);
        assertEquals(1, calls.get(), "one progress call after 5 s");
        assertTrue(spawned.process().isAlive(), "a timeout leaves the decision to kill to the caller");
    }

    @Test
    void exitedWithTheWorkersOwnReason() throws Exception
    {
        Files.writeString(dir.resolve("worker.out"), "ds4j worker failed to start: an older run\n");
        final long offset = Files.size(dir.resolve("worker.out"));
        final Process process = bash("echo starting; echo 'ds4j worker failed to start: port 1 is taken' >&2;"
            + " exit 3");
        final WorkerLauncher.Spawned base = spawned(process);
        final WorkerLauncher.Spawned spawned = new WorkerLauncher.Spawned(process, base.flags(), base.command(),
            base.outFile(), offset, base.startedAt());
        assertEquals(WorkerLauncher.Outcome.EXITED, WorkerLauncher.awaitReady(spawned, Duration.ofSeconds(20),
            null));
        assertEquals("port 1 is taken", spawned.failureReason());
    }

    @Test
    void exitedWithoutAReasonShowsTheLastOutput() throws Exception
    {
        final WorkerLauncher.Spawned spawned = spawned(bash("for i in $(seq 1 30); do echo line $i; done; exit 4"));
        assertEquals(WorkerLauncher.Outcome.EXITED, WorkerLauncher.awaitReady(spawned, Duration.ofSeconds(20),
            null));
        final String reason = spawned.failureReason();
        assertTrue(reason.startsWith("the worker exited with code 4"), reason);
        assertTrue(reason.contains("line 30") && reason.contains("line 11") && !reason.contains("line 10\n"),
            reason);
        assertEquals(List.of("line 29", "line 30"), spawned.outTail(2));
    }

    @Test
    void findsAndStopsAWorkerByItsAddress() throws Exception
    {
        final String address = "127.0.0.1:1";
        final Process process = bash("trap 'exit 0' TERM; while :; do sleep 0.05; done", WorkerLauncher.MAIN_CLASS,
            "--worker_address=" + address);
        final ProcessHandle handle = awaitFound(address);
        assertEquals(process.pid(), handle.pid());
        assertTrue(WorkerLauncher.findWorkers("127.0.0.1:11").isEmpty(), "the address must match exactly");
        assertTrue(WorkerLauncher.stop(handle, Duration.ofSeconds(20), null), "ended on SIGTERM");
        assertFalse(handle.isAlive());
    }

    @Test
    void killsAWorkerThatIgnoresSigterm() throws Exception
    {
        final String address = "127.0.0.1:2";
        bash("trap '' TERM; while :; do sleep 0.05; done", WorkerLauncher.MAIN_CLASS, "-worker_address=" + address);
        final ProcessHandle handle = awaitFound(address);
        assertFalse(WorkerLauncher.stop(handle, Duration.ofMillis(500), null), "needed SIGKILL");
        assertFalse(handle.isAlive());
    }

    private static ProcessHandle awaitFound(final String address) throws InterruptedException
    {
        // bash sets up its command line before the first instruction runs; allow it a moment
        for (int i = 0; i < 100; i++)
        {
            final var found = WorkerLauncher.findWorker(address);
            if (found.isPresent())
            {
                return found.get();
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no process found for " + address);
    }

    @Test
    void relativeClassPathEntriesBecomeAbsoluteBecauseTheWorkerRunsInItsHome()
    {
        final String cwd = java.nio.file.Path.of("").toAbsolutePath().toString();
        org.junit.jupiter.api.Assertions.assertEquals(cwd + "/a.jar:/abs/b.jar:" + cwd + "/lib/*",
            WorkerLauncher.absoluteClasspath("a.jar:/abs/b.jar::lib/*"));
    }

    @Test
    void workerJvmOptionsComeFromTheEnvironmentVariableSplitOnWhitespace()
    {
        org.junit.jupiter.api.Assertions.assertEquals(java.util.List.of("-Xmx4g", "-XX:+UseZGC"),
            WorkerLauncher.jvmOptions("  -Xmx4g \t -XX:+UseZGC "));
        org.junit.jupiter.api.Assertions.assertEquals(java.util.List.of(), WorkerLauncher.jvmOptions(null));
        org.junit.jupiter.api.Assertions.assertEquals(java.util.List.of(), WorkerLauncher.jvmOptions(" "));
    }
}
