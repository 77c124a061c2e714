package io.ds4j.cli;

import io.ds4j.worker.config.HostPort;
import io.ds4j.worker.config.WorkerFlag;
import io.ds4j.worker.config.WorkerFlags;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** dscli run in this JVM: argument handling, help, and the failures that happen before a worker is spawned. */
class DscliCommandTest
{
    @TempDir
    private Path home;

    /** Exit code, stdout and stderr of one dscli run. */
    private record Result(int exit, String out, String err)
    {
    }

    private static Result run(final String... args)
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final CommandLine commandLine = Dscli.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        final int exit = commandLine.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    @Test
    void versionAndHelp()
    {
        final Result version = run("--version");
        assertEquals(0, version.exit());
        assertTrue(version.out().contains("dscli (ds4j)"), version.out());
        final Result help = run("--help");
        assertEquals(0, help.exit());
        assertTrue(help.out().contains("start") && help.out().contains("stop")
            && help.out().contains("generate_config"), help.out());
    }

    @Test
    void startHelpListsEveryWorkerFlagWithDefaultAndDescription()
    {
        final Result help = run("start", "--help");
        assertEquals(0, help.exit());
        final String text = help.out().replaceAll("\\s+", " ");
        for (final WorkerFlag flag : WorkerFlags.all())
        {
            final String shown = flag.defaultValue().isEmpty() ? "\"\"" : flag.defaultValue();
            assertTrue(text.contains("--" + flag.name() + "=" + shown), flag.name() + " missing in " + help.out());
            assertTrue(text.contains(flag.description().replaceAll("\\s+", " ")), flag.name() + "'s description");
        }
        assertTrue(help.out().contains("--worker_config_path") && help.out().contains("--datasystem_home_dir")
            && help.out().contains("--timeout") && help.out().contains("--worker_args"), help.out());
    }

    @Test
    void noCommandIsAUsageError()
    {
        final Result result = run();
        assertEquals(2, result.exit());
        assertTrue(result.err().contains("command is missing"), result.err());
    }

    @Test
    void unknownWorkerFlagFailsWithExitTwoBeforeSpawning()
    {
        final Result result = run("start", "-d", home.toString(), "-w", "--worker_adress", "127.0.0.1:1");
        assertEquals(2, result.exit(), result.err());
        assertTrue(result.err().contains("unknown worker flag --worker_adress"), result.err());
        assertTrue(result.err().contains("did you mean --worker_address"), result.err());
        assertFalse(Files.exists(home.resolve("datasystem")), "nothing was spawned");
    }

    @Test
    void everythingAfterDashWIsAWorkerFlag()
    {
        // -t after -w is not dscli's --timeout: it is checked (and refused) as a worker flag
        final Result result = run("start", "-d", home.toString(), "-w", "-t", "5");
        assertEquals(2, result.exit(), result.err());
        assertTrue(result.err().contains("unknown worker flag --t"), result.err());
    }

    @Test
    void badValuesFailWithExitTwo()
    {
        final Result number = run("start", "-d", home.toString(), "-w", "--shared_memory_size_mb", "big");
        assertEquals(2, number.exit(), number.err());
        assertTrue(number.err().contains("--shared_memory_size_mb takes a number, not 'big'"), number.err());
        final Result range = run("start", "-d", home.toString(), "-w", "--memory_alignment", "3");
        assertEquals(2, range.exit(), range.err());
        assertTrue(range.err().contains("--memory_alignment"), range.err());
        final Result missingHome = run("start", "-d", home.resolve("nope").toString());
        assertEquals(2, missingHome.exit());
        assertTrue(missingHome.err().contains("does not exist"), missingHome.err());
    }

    @Test
    void takenPortIsReportedBeforeSpawning() throws Exception
    {
        try (ServerSocket taken = new ServerSocket())
        {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            final String address = "127.0.0.1:" + taken.getLocalPort();
            final Result result = run("start", "-d", home.toString(), "-w", "--worker_address", address,
                "--shared_memory_size_mb", "1");
            assertEquals(1, result.exit(), result.err());
            assertTrue(result.err().contains("port " + taken.getLocalPort() + " cannot be bound"), result.err());
            assertFalse(Files.exists(home.resolve("datasystem")), "nothing was spawned");
        }
    }

    @Test
    void shmCheckSaysHowMuchIsFreeAndWhatToDo()
    {
        final CliException e = assertThrows(CliException.class,
            () -> PreChecks.checkShmSpace(PreChecks.DEV_SHM, Long.MAX_VALUE / 2));
        assertTrue(e.getMessage().contains("/dev/shm has only"), e.getMessage());
        assertTrue(e.getMessage().contains("Lower --shared_memory_size_mb"), e.getMessage());
        PreChecks.checkShmSpace(PreChecks.DEV_SHM, 1);
        PreChecks.checkShmSpace(home.resolve("no-such-dir"), Long.MAX_VALUE);
    }

    @Test
    void portCheckPassesOnAFreePort() throws Exception
    {
        final int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            port = probe.getLocalPort();
        }
        PreChecks.checkPortFree(new HostPort("127.0.0.1", port));
    }

    @Test
    void stopWithoutAWorkerFails()
    {
        final Result result = run("stop", "-w", "127.0.0.1:9");
        assertEquals(1, result.exit());
        assertTrue(result.err().contains("[FAILED] no worker found for 127.0.0.1:9"), result.err());
        final Result both = run("stop", "-w", "127.0.0.1:9", "-f", "x.json");
        assertEquals(2, both.exit(), "-w and -f exclude each other");
        final Result bad = run("stop", "--worker_address", "nowhere");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("host:port"), bad.err());
    }
}
