package io.ds4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs one dscli command for a node of a cluster config: in this JVM when the host is this machine
 * ({@code 127.0.0.1}, {@code localhost}, any address of its interfaces), else over ssh as {@code ssh -i KEY -o
 * BatchMode=yes USER@HOST 'DSCLI' 'start' ...}. Either way the caller gets the exit code and the combined output, so
 * {@code dscli up} and {@code down} treat every node alike. BatchMode: a host that wants a password or an unknown
 * host key fails at once with ssh's own message instead of waiting for a prompt nobody sees.
 */
final class RemoteRunner
{
    /** Exit code reported when an ssh run outlived its bound and was killed. */
    static final int TIMED_OUT = 124;

    private static final int CONNECT_TIMEOUT_S = 10;

    private final ClusterConfig config;
    private final String remoteDscli;
    private final Map<String, Boolean> local = new ConcurrentHashMap<>();

    /** Exit code and combined stdout and stderr of one run. */
    record Result(int exit, String output)
    {
        /** The last {@code n} non-blank lines of the output. */
        List<String> tail(final int n)
        {
            final List<String> lines = output.lines().filter(line -> !line.isBlank()).toList();
            return lines.subList(Math.max(0, lines.size() - n), lines.size());
        }
    }

    RemoteRunner(final ClusterConfig config, final String remoteDscli)
    {
        this.config = config;
        this.remoteDscli = remoteDscli;
    }

    /** The dscli run on remote hosts. */
    String remoteDscli()
    {
        return remoteDscli;
    }

    /**
     * {@code bin/dscli} of the install this dscli runs from (the code is in {@code <root>/cli/target/...}), which is
     * where the same install lives on the other hosts; plain {@code dscli} (found on the remote PATH) when this
     * install has no {@code bin/dscli}.
     */
    static String defaultRemoteDscli()
    {
        try
        {
            final Path code = Path.of(RemoteRunner.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // cli/target/ds4j-cli.jar or cli/target/classes: three levels below the root
            final Path root = code.toAbsolutePath().getParent().getParent().getParent();
            final Path script = root.resolve("bin").resolve("dscli");
            if (Files.isExecutable(script))
            {
                return script.toString();
            }
        }
        catch (final Exception e)
        {
            // no code source (an unusual class loader): fall back to the PATH
        }
        return "dscli";
    }

    /** How a node is reached, for the progress lines: {@code local} or {@code ssh user@host}. */
    String describe(final ClusterConfig.Node node)
    {
        return isLocal(node.host()) ? "local" : "ssh " + config.sshUserName() + "@" + node.host();
    }

    /** Whether {@code host} is this machine: a loopback name or address, or an address of one of its interfaces. */
    boolean isLocal(final String host)
    {
        return local.computeIfAbsent(host, RemoteRunner::resolvesHere);
    }

    private static boolean resolvesHere(final String host)
    {
        if (host.equals("127.0.0.1") || host.equals("localhost") || host.equals("::1"))
        {
            return true;
        }
        try
        {
            final InetAddress address = InetAddress.getByName(host);
            return address.isLoopbackAddress() || address.isAnyLocalAddress()
                || NetworkInterface.getByInetAddress(address) != null;
        }
        catch (final UnknownHostException | SocketException e)
        {
            // not resolvable here: ssh will say so in its own words
            return false;
        }
    }

    /**
     * Runs {@code dscli ARGS} for {@code node}, first making {@code makeDirectory} when it is not null.
     *
     * @param bound how long an ssh run may take before it is killed (a local run is bounded by the command itself)
     */
    Result run(final ClusterConfig.Node node, final List<String> args, final String makeDirectory,
        final Duration bound) throws InterruptedException
    {
        return isLocal(node.host()) ? runHere(args, makeDirectory) : runOverSsh(node.host(), args, makeDirectory,
            bound);
    }

    private static Result runHere(final List<String> args, final String makeDirectory)
    {
        if (makeDirectory != null)
        {
            try
            {
                Files.createDirectories(Path.of(makeDirectory));
            }
            catch (final IOException e)
            {
                return new Result(CliException.FAILURE, "cannot make directory " + makeDirectory + ": " + e
                    + "; pick a writable home with -d DIR");
            }
        }
        final StringWriter output = new StringWriter();
        final PrintWriter writer = new PrintWriter(output, true);
        final var commandLine = Dscli.commandLine();
        commandLine.setOut(writer);
        commandLine.setErr(writer);
        final int exit = commandLine.execute(args.toArray(String[]::new));
        writer.flush();
        return new Result(exit, output.toString());
    }

    private Result runOverSsh(final String host, final List<String> args, final String makeDirectory,
        final Duration bound) throws InterruptedException
    {
        final List<String> command = sshCommand(config.sshPrivateKey(), config.sshUserName(), host,
            remoteCommand(remoteDscli, args, makeDirectory));
        final Process process;
        try
        {
            process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .start();
        }
        catch (final IOException e)
        {
            return new Result(CliException.FAILURE, "cannot run ssh: " + e.getMessage() + "; install an ssh client"
                + " (openssh-client) or list only this machine's addresses in worker_nodes");
        }
        final CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> readAll(process));
        if (!process.waitFor(bound.toSeconds(), TimeUnit.SECONDS))
        {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            return new Result(TIMED_OUT, outputOf(output) + System.lineSeparator() + "ssh to " + host
                + " did not finish within " + bound.toSeconds() + " s and was killed");
        }
        return new Result(process.exitValue(), outputOf(output));
    }

    private static String outputOf(final CompletableFuture<String> output) throws InterruptedException
    {
        try
        {
            return output.get(10, TimeUnit.SECONDS);
        }
        catch (final ExecutionException | TimeoutException e)
        {
            return "(cannot read the output of ssh: " + e + ")";
        }
    }

    private static String readAll(final Process process)
    {
        try (InputStream in = process.getInputStream())
        {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        catch (final IOException e)
        {
            return "(cannot read the output of ssh: " + e.getMessage() + ")";
        }
    }

    /**
     * The ssh command line: {@code ssh -i KEY -o BatchMode=yes -o ConnectTimeout=10 USER@HOST REMOTE_COMMAND}. The
     * remote command is one argument, already quoted for the remote shell (ssh would join several with spaces).
     */
    static List<String> sshCommand(final Path privateKey, final String user, final String host,
        final String remoteCommand)
    {
        final List<String> command = new ArrayList<>();
        command.add("ssh");
        command.add("-i");
        command.add(privateKey.toString());
        command.add("-o");
        command.add("BatchMode=yes");
        command.add("-o");
        command.add("ConnectTimeout=" + CONNECT_TIMEOUT_S);
        command.add(user + "@" + host);
        command.add(remoteCommand);
        return command;
    }

    /**
     * {@code [mkdir -p -- 'DIR' && ]'DSCLI' 'ARG' ...}, every word single-quoted for the remote shell (a leading
     * {@code ~/} of the dscli path is left for it to expand).
     */
    static String remoteCommand(final String dscli, final List<String> args, final String makeDirectory)
    {
        final StringBuilder command = new StringBuilder();
        if (makeDirectory != null)
        {
            command.append("mkdir -p -- ").append(quote(makeDirectory)).append(" && ");
        }
        // ~/ stays outside the quotes, so the remote shell expands it to the remote user's home
        command.append(dscli.startsWith("~/") ? "~/" + quote(dscli.substring(2)) : quote(dscli));
        for (final String arg : args)
        {
            command.append(' ').append(quote(arg));
        }
        return command.toString();
    }

    /** {@code text} in single quotes for a POSIX shell, an embedded quote written as {@code '\''}. */
    static String quote(final String text)
    {
        return "'" + text.replace("'", "'\\''") + "'";
    }
}
