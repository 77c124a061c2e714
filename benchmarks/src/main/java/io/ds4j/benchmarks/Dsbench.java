package io.ds4j.benchmarks;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code dsbench}: ds4j's benchmark tool (the upstream's tool name). {@code dsbench kv} starts a real worker process
 * (and a redis-server for comparison), measures the KV interface and prints each figure next to a ceiling measured in
 * the same run. The JMH benchmarks of this module run with {@code java -jar benchmarks/target/ds4j-benchmarks.jar}.
 */
@Command(name = "dsbench", mixinStandardHelpOptions = true, versionProvider = Dsbench.Version.class,
    description = {"ds4j benchmarks: each figure is printed as a ratio against a ceiling measured in the same run.",
        "Workers, etcd and redis-server are started on free loopback ports and stopped at the end."},
    subcommands = {KvBench.class, DeviceBench.class, CommandLine.HelpCommand.class},
    footer = {"", "Examples:",
        "  bin/dsbench kv                         every KV scenario, about 2.5 minutes",
        "  bin/dsbench kv --scenarios small -d 5  100-byte set/get only, 5 s each",
        "  bin/dsbench kv --keys 100000 --no-redis",
        "                                         quicker memory figure, no redis",
        "  bin/dsbench kv --scenarios tiers       issue 3's memory tiers, about 80 s",
        "  bin/dsbench kv --scenarios spill --drop-caches",
        "                                         spilled gets from the disk (root)",
        "  bin/dsbench kv --scenarios cluster     the cluster (own etcd and workers), about 3 minutes",
        "  bin/dsbench device                     msetD2H/mgetH2D with the chariot-ds shapes, about 1 minute",
        "", "JMH benchmarks (KvJmh), from the same build:",
        "  java -jar benchmarks/target/ds4j-benchmarks.jar KvJmh -f 1 -wi 2 -i 3"})
public final class Dsbench implements Runnable
{
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    public static void main(final String[] args)
    {
        final int exit = new CommandLine(new Dsbench()).setCaseInsensitiveEnumValuesAllowed(true)
            .setExecutionExceptionHandler((e, commandLine, parseResult) ->
            {
                // a failed start (port, /dev/shm, a worker that exits) is reported in one line, not a stack trace
                commandLine.getErr().println("dsbench: " + e.getMessage()
                    + (e.getCause() != null && e.getCause() != e ? " (" + e.getCause().getMessage() + ")" : ""));
                if (System.getenv("DSBENCH_DEBUG") != null)
                {
                    e.printStackTrace(commandLine.getErr());
                }
                return 1;
            })
            .execute(args);
        System.exit(exit);
    }

    @Override
    public void run()
    {
        spec.commandLine().usage(System.out);
    }

    /** The version of the ds4j client on the class path. */
    static final class Version implements CommandLine.IVersionProvider
    {
        @Override
        public String[] getVersion()
        {
            final String version = Dsbench.class.getPackage().getImplementationVersion();
            return new String[] {"dsbench (ds4j) " + (version == null ? "0.1.0-SNAPSHOT" : version)};
        }
    }
}
