package io.ds4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import java.util.concurrent.Callable;

/**
 * {@code dscli}, the ds4j command line: the upstream's command names and snake_case flags ({@code start -w
 * --worker_address ...}, {@code stop}, {@code up}, {@code down}, {@code generate_config}, {@code query}) and its
 * {@code [  OK  ]} lines. Started by {@code bin/dscli}.
 */
@Command(name = "dscli", mixinStandardHelpOptions = true, versionProvider = Dscli.Version.class,
    description = "Start, stop, configure and query ds4j workers (a Java openYuanrong datasystem).",
    subcommands = {StartCommand.class, StopCommand.class, UpCommand.class, DownCommand.class,
        GenerateConfigCommand.class, QueryCommand.class, CommandLine.HelpCommand.class},
    footer = {"%nExamples:",
        "  dscli generate_config -o ./conf",
        "  dscli start -d /srv/ds4j -w --worker_address 127.0.0.1:31501",
        "  dscli stop -w 127.0.0.1:31501",
        "  dscli up -f ./conf/cluster_config.json -d /srv/ds4j",
        "  dscli down -f ./conf/cluster_config.json",
        "  dscli query cluster --etcd_address 127.0.0.1:2379"})
public final class Dscli implements Callable<Integer>
{
    @Spec
    private CommandSpec spec;

    /** Reads the version Maven wrote into {@code version.properties}. */
    static final class Version implements IVersionProvider
    {
        @Override
        public String[] getVersion() throws IOException
        {
            final Properties properties = new Properties();
            try (InputStream in = Dscli.class.getResourceAsStream("version.properties"))
            {
                if (in != null)
                {
                    properties.load(in);
                }
            }
            final String version = properties.getProperty("version", "unknown");
            return new String[] {"dscli (ds4j) " + version, "Java " + Runtime.version() + " ("
                + System.getProperty("java.home") + ")"};
        }
    }

    @Override
    public Integer call()
    {
        throw new ParameterException(spec.commandLine(), "a command is missing: start, stop, up, down,"
            + " generate_config or query");
    }

    /**
     * The configured command line: the worker flag list in {@code start --help}, and {@link CliException}s printed
     * as one plain line with their exit code instead of a stack trace.
     */
    public static CommandLine commandLine()
    {
        final CommandLine commandLine = new CommandLine(new Dscli());
        commandLine.getSubcommands().get("start").getCommandSpec().usageMessage().footer(StartCommand.flagHelp());
        commandLine.setExecutionExceptionHandler((exception, failed, parseResult) ->
        {
            if (exception instanceof final CliException cli)
            {
                failed.getErr().println("dscli " + failed.getCommandName() + ": " + cli.getMessage());
                failed.getErr().flush();
                return cli.exitCode();
            }
            throw exception;
        });
        return commandLine;
    }

    /** Runs {@code args} and returns the exit code (for tests and {@link #main}). */
    public static int run(final String... args)
    {
        return commandLine().execute(args);
    }

    public static void main(final String[] args)
    {
        System.exit(run(args));
    }
}
