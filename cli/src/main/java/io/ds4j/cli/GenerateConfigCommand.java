package io.ds4j.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code dscli generate_config}: writes {@code worker_config.json} (every worker flag with its default and
 * description) and {@code cluster_config.json} (the upstream's defaults) to start editing from.
 */
@Command(name = "generate_config", mixinStandardHelpOptions = true,
    description = {"Write worker_config.json (every worker flag at its default) and cluster_config.json (the"
        + " hosts for dscli up and down: worker_nodes, worker_port, ssh_auth, worker_config_path)."})
final class GenerateConfigCommand implements Callable<Integer>
{
    @Spec
    private CommandSpec spec;

    @Option(names = {"-o", "--output_path"}, paramLabel = "DIR",
        description = "Directory to write into (made if missing). Default: the current directory.")
    private Path outputDir;

    @Override
    public Integer call()
    {
        final PrintWriter out = spec.commandLine().getOut();
        final Path dir = outputDir == null ? Path.of("").toAbsolutePath() : outputDir.toAbsolutePath().normalize();
        try
        {
            Files.createDirectories(dir);
        }
        catch (final IOException e)
        {
            throw new CliException(CliException.FAILURE, "cannot make directory " + dir + ": " + e.getMessage()
                + "; pick a writable directory with -o DIR");
        }
        final Path worker = write(dir.resolve(ConfigFiles.WORKER_CONFIG),
            ConfigFiles.toJson(ConfigFiles.workerConfig()));
        final Path cluster = write(dir.resolve(ConfigFiles.CLUSTER_CONFIG),
            ConfigFiles.toJson(ConfigFiles.clusterConfig()));
        out.printf("wrote %s (%d worker flags at their defaults)%n", worker, ConfigFiles.workerConfig().size());
        out.printf("wrote %s%n", cluster);
        out.printf("start a worker with it: dscli start -f %s -w --worker_address HOST:PORT%n", worker);
        out.printf("or one on every worker_nodes host: dscli up -f %s%n", cluster);
        out.flush();
        return 0;
    }

    private static Path write(final Path file, final String text)
    {
        try
        {
            Files.writeString(file, text, StandardCharsets.UTF_8);
            return file;
        }
        catch (final IOException e)
        {
            throw new CliException(CliException.FAILURE, "cannot write " + file + ": " + e.getMessage()
                + "; pick a writable directory with -o DIR");
        }
    }
}
