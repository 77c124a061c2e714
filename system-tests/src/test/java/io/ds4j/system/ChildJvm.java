package io.ds4j.system;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/** A {@link ClientProgram} in its own JVM, with its output collected line by line. */
final class ChildJvm implements AutoCloseable
{
    private final Process process;
    private final List<String> lines = new ArrayList<>();
    private final LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
    private volatile boolean ended;

    private ChildJvm(final Process process)
    {
        this.process = process;
        Thread.ofPlatform().daemon().name("child-output-" + process.pid()).start(this::pump);
    }

    static ChildJvm start(final String... args)
    {
        return startMain(ClientProgram.class, args);
    }

    /** A child JVM running {@code main}'s main method (a program of this test module) with {@code args}. */
    static ChildJvm startMain(final Class<?> main, final String... args)
    {
        final List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-Xmx512m");
        command.add("-XX:TieredStopAtLevel=1");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main.getName());
        command.addAll(List.of(args));
        try
        {
            return new ChildJvm(new ProcessBuilder(command).redirectErrorStream(true).start());
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot start a client JVM", e);
        }
    }

    private void pump()
    {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(),
            StandardCharsets.UTF_8)))
        {
            String line;
            while ((line = reader.readLine()) != null)
            {
                synchronized (lines)
                {
                    lines.add(line);
                }
                queue.add(line);
            }
        }
        catch (final IOException e)
        {
            // the process was killed
        }
        finally
        {
            ended = true;
        }
    }

    Process process()
    {
        return process;
    }

    long pid()
    {
        return process.pid();
    }

    String output()
    {
        synchronized (lines)
        {
            return String.join("\n", lines);
        }
    }

    /** Waits for a line starting with {@code prefix}; fails with the output if the child ends or time runs out. */
    String awaitLine(final String prefix, final Duration timeout)
    {
        final long deadline = System.nanoTime() + timeout.toNanos();
        try
        {
            while (true)
            {
                final long left = deadline - System.nanoTime();
                if (left <= 0)
                {
                    break;
                }
                final String line = queue.poll(Math.min(left, 100_000_000L), TimeUnit.NANOSECONDS);
                if (line != null && line.startsWith(prefix))
                {
                    return line;
                }
                if (line != null && line.startsWith("FAIL"))
                {
                    break;
                }
                if (line == null && ended && queue.isEmpty())
                {
                    break;
                }
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
        return fail("child JVM did not print '" + prefix + "' within " + timeout.toSeconds() + " s (alive: "
            + process.isAlive() + "); its output:\n" + output());
    }

    /** Waits for the child to exit and returns its exit code; kills it and fails after {@code timeout}. */
    int awaitExit(final Duration timeout)
    {
        try
        {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS))
            {
                process.destroyForcibly();
                return fail("child JVM did not exit within " + timeout.toSeconds() + " s; its output:\n" + output());
            }
            return process.exitValue();
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return fail("interrupted");
        }
    }

    /** Writes one line to the child's stdin. */
    void tell(final String line)
    {
        try
        {
            process.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
            process.getOutputStream().flush();
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException("cannot write to the child JVM", e);
        }
    }

    /** Sends a signal by name (STOP, CONT, ...) with kill(1). */
    void signal(final String name)
    {
        try
        {
            final Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid())).inheritIO().start();
            if (kill.waitFor() != 0)
            {
                fail("kill -" + name + " " + pid() + " failed");
            }
        }
        catch (final IOException e)
        {
            throw new UncheckedIOException(e);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }

    /** kill -9 and wait until the process is gone. */
    void kill9()
    {
        process.destroyForcibly();
        try
        {
            if (!process.waitFor(10, TimeUnit.SECONDS))
            {
                fail("child JVM " + pid() + " did not die after SIGKILL");
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close()
    {
        if (process.isAlive())
        {
            kill9();
        }
    }
}
