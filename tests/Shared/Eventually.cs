namespace RuntimeCtl.Testing;

/// <summary>
/// Waits for a condition by looking at it again and again. The timeout only bounds a hang (a slow machine gets there
/// later, never fails sooner): it is no timing assertion.
/// </summary>
public static class Eventually
{
    /// <summary>The default bound on a wait: long enough for a busy 2-core machine, short enough to end a hung test.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Returns once <paramref name="condition"/> holds; fails the test, naming <paramref name="what"/>, when it does not within <paramref name="timeout"/>.</summary>
    /// <param name="condition">What is waited for.</param>
    /// <param name="what">What is waited for, for the failure message.</param>
    /// <param name="timeout">The bound on the wait; the default is <see cref="Patience"/>.</param>
    /// <param name="process">A process that must not end first (its output goes into the failure message).</param>
    public static void Until(Func<bool> condition, string what, TimeSpan? timeout = null, ChildProcess? process = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Patience);
        while (!condition())
        {
            Check(condition, what, timeout, process, deadline);
            Thread.Sleep(Interval);
        }
    }

    /// <summary>The asynchronous <see cref="Until"/>.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null, ChildProcess? process = null, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Patience);
        while (!condition())
        {
            Check(condition, what, timeout, process, deadline);
            await Task.Delay(Interval, cancellationToken);
        }
    }

    private static void Check(Func<bool> condition, string what, TimeSpan? timeout, ChildProcess? process, DateTime deadline)
    {
        // What is waited for may have come just before the process ended or the bound passed: look once more before failing.
        if (process is { HasExited: true } && !condition())
        {
            Assert.Fail($"The process ended before {what}.\n{process.WaitForExitOrKill(TimeSpan.FromSeconds(10))}");
        }

        if (DateTime.UtcNow > deadline && !condition())
        {
            Assert.Fail($"No {what} within {(timeout ?? Patience).TotalSeconds} s.{(process is null ? string.Empty : "\n" + process)}");
        }
    }
}
