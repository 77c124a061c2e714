package io.ds4j.worker;

import io.ds4j.worker.config.WorkerConfig;
import io.ds4j.worker.config.WorkerFlags;

import java.nio.file.Files;
import java.util.Arrays;
import java.util.Map;

/**
 * The worker process: {@code java io.ds4j.worker.WorkerMain --flag=value ...} (dscli start builds this line).
 * Logging is configured from the flags before the first logger exists, so everything after start goes to
 * log_dir/worker.log. A start failure prints one line, {@code ds4j worker failed to start: <reason>}, to stderr
 * (dscli shows it) and exits with status 1.
 */
public final class WorkerMain
{
    public static final String START_FAILURE_PREFIX = "ds4j worker failed to start: ";

    private WorkerMain()
    {
    }

    public static void main(final String[] args)
    {
        final WorkerConfig config;
        try
        {
            final Map<String, String> flags = WorkerFlags.parse(Arrays.asList(args));
            config = WorkerConfig.from(flags);
            Files.createDirectories(config.logDir());
        }
        catch (final Exception e)
        {
            System.err.println(START_FAILURE_PREFIX + e.getMessage());
            System.exit(1);
            return;
        }
        configureLogging(config);
        final Worker worker = new Worker(config);
        // registered before start: a SIGTERM while the pool is still being reserved must clean up what exists
        Runtime.getRuntime().addShutdownHook(new Thread(worker::close, "ds4j-shutdown"));
        try
        {
            worker.start();
        }
        catch (final Exception e)
        {
            org.slf4j.LoggerFactory.getLogger(WorkerMain.class).error("start failed", e);
            System.err.println(START_FAILURE_PREFIX + e.getMessage());
            System.exit(1);
            return;
        }
        // every serving thread is a daemon; main holds the process up until SIGTERM runs the shutdown hook
        try
        {
            new java.util.concurrent.CountDownLatch(1).await();
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }

    private static void configureLogging(final WorkerConfig config)
    {
        System.setProperty("org.slf4j.simpleLogger.logFile", config.logDir().resolve("worker.log").toString());
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
            config.verbosity() >= 2 ? "trace" : config.verbosity() == 1 ? "debug" : "info");
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSZ");
        System.setProperty("org.slf4j.simpleLogger.showThreadName", "true");
    }
}
