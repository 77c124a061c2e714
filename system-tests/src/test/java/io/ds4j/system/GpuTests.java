package io.ds4j.system;

import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;
import org.junit.platform.engine.TestExecutionResult;

import java.io.PrintWriter;

import static org.junit.platform.engine.discovery.ClassNameFilter.includeClassNamePatterns;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;
import static org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder.request;

/**
 * Runs every {@code *GpuIT} of ds4j without Maven: the entry point of the self-contained image {@code bin/gpu-tests}
 * builds, for a GPU machine that may have no JDK. Prints each test's outcome (a skip with its reason) and a summary;
 * exits 0 when nothing failed, 1 otherwise, 2 when no test ran at all.
 */
public final class GpuTests
{
    private GpuTests()
    {
    }

    public static void main(final String[] args)
    {
        final String pattern = args.length > 0 ? args[0] : ".*GpuIT";
        final LauncherDiscoveryRequest discovery = request().selectors(selectPackage("io.ds4j"))
            .filters(includeClassNamePatterns(pattern)).build();
        final Launcher launcher = LauncherFactory.create();
        final SummaryGeneratingListener summary = new SummaryGeneratingListener();
        launcher.execute(discovery, summary, new TestExecutionListener()
        {
            @Override
            public void executionSkipped(final TestIdentifier test, final String reason)
            {
                System.out.println("SKIPPED " + test.getDisplayName() + ": " + reason);
            }

            @Override
            public void executionFinished(final TestIdentifier test, final TestExecutionResult result)
            {
                if (test.isTest())
                {
                    System.out.println(result.getStatus() + " " + test.getDisplayName()
                        + result.getThrowable().map(e -> ": " + e).orElse(""));
                }
            }
        });
        final TestExecutionSummary result = summary.getSummary();
        result.printTo(new PrintWriter(System.out));
        result.printFailuresTo(new PrintWriter(System.out), 30);
        System.out.flush();
        if (result.getTestsFoundCount() == 0)
        {
            System.exit(2);
        }
        System.exit(result.getTotalFailureCount() == 0 ? 0 : 1);
    }
}
