package io.ds4j.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Runs one task per node of a cluster at once (at most {@link #PARALLEL} at a time), as the upstream's {@code up}
 * and {@code down} do, and reports on the calling thread: each result as it comes in, and which nodes are still
 * being waited for about every 5 s. Reporting from one thread keeps the lines of different nodes apart.
 */
final class NodeTasks
{
    /** Most nodes worked on at once (each is an ssh process or a local start). */
    static final int PARALLEL = 16;

    private static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

    /** What one node's task does; may block. */
    @FunctionalInterface
    interface Task<T>
    {
        T run(ClusterConfig.Node node) throws Exception;
    }

    private NodeTasks()
    {
    }

    /**
     * Runs {@code task} for every node and returns the results in the nodes' order.
     *
     * @param done    called with each node and its result as it finishes
     * @param waiting called with the nodes not finished yet and the time so far, about every 5 s
     */
    static <T> Map<ClusterConfig.Node, T> run(final List<ClusterConfig.Node> nodes, final Task<T> task,
        final BiConsumer<ClusterConfig.Node, T> done, final BiConsumer<List<ClusterConfig.Node>, Duration> waiting)
        throws InterruptedException
    {
        final ExecutorService executor = Executors.newFixedThreadPool(Math.min(PARALLEL, nodes.size()), runnable ->
        {
            final Thread thread = new Thread(runnable, "dscli-node");
            thread.setDaemon(true);
            return thread;
        });
        try
        {
            final CompletionService<T> completion = new ExecutorCompletionService<>(executor);
            final Map<Future<T>, ClusterConfig.Node> pending = new LinkedHashMap<>();
            for (final ClusterConfig.Node node : nodes)
            {
                pending.put(completion.submit(() -> task.run(node)), node);
            }
            final Map<ClusterConfig.Node, T> results = new LinkedHashMap<>();
            final long start = System.nanoTime();
            while (!pending.isEmpty())
            {
                final Future<T> finished = completion.poll(PROGRESS_EVERY.toMillis(), TimeUnit.MILLISECONDS);
                if (finished == null)
                {
                    waiting.accept(new ArrayList<>(pending.values()), Duration.ofNanos(System.nanoTime() - start));
                    continue;
                }
                final ClusterConfig.Node node = pending.remove(finished);
                final T result;
                try
                {
                    result = finished.get();
                }
                catch (final ExecutionException e)
                {
                    throw e.getCause() instanceof final RuntimeException runtime ? runtime
                        : new IllegalStateException("the task for " + node + " failed: " + e.getCause(), e);
                }
                results.put(node, result);
                done.accept(node, result);
            }
            final Map<ClusterConfig.Node, T> ordered = new LinkedHashMap<>();
            nodes.forEach(node -> ordered.put(node, results.get(node)));
            return ordered;
        }
        finally
        {
            executor.shutdownNow();
        }
    }

    /** The nodes, comma separated, for a progress or summary line. */
    static String names(final List<ClusterConfig.Node> nodes)
    {
        final List<String> names = new ArrayList<>();
        nodes.forEach(node -> names.add(node.address()));
        return String.join(", ", names);
    }
}
