using Microsoft.Playwright;
using RuntimeCtl.Cli.Tests.EndToEnd;
using RuntimeCtl.Cli.Tests.Support;
using Xunit.Abstractions;

namespace RuntimeCtl.Cli.Tests.Dashboard;

/// <summary>
/// The page in Debian's Chromium (driven by Playwright) in front of a real QuickStart. Without Chromium the tests are
/// skipped, unless <c>RUNTIMECTL_REQUIRE_BROWSER=1</c> (CI) makes them run and fail.
/// </summary>
public sealed class DashboardBrowserTests(RunningQuickStart quickStart, ITestOutputHelper output) : IClassFixture<RunningQuickStart>
{
    [BrowserFact]
    public async Task Page_ShowsControls_AppliesAndRejects_PlotsMetrics_WithoutConsoleErrors()
    {
        var chromium = BrowserFactAttribute.RequireChromium();
        await using var server = await DashboardFixture.StartAsync(quickStart.Dir);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright, chromium);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                problems.Add($"{message.Type}: {message.Text}");
            }
        };
        page.PageError += (_, error) => problems.Add("page error: " + error);

        await page.GotoAsync(server.Server.Url.ToString());

        // The controls of the running QuickStart, with their current values.
        var dropout = page.Locator("form.control[data-path='model.dropout.p']");
        await Assertions.Expect(dropout).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("form.control[data-path='optimizer.lr.multiplier']")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#liveness")).ToHaveTextAsync("polling");

        // Submitting a form applies the command; the trainer's ack shows up.
        await dropout.Locator("input[name='p']").FillAsync("0.3");
        await dropout.Locator("button").ClickAsync();
        await Assertions.Expect(dropout.Locator(".result")).ToContainTextAsync("applied");
        await Assertions.Expect(dropout.Locator(".value code")).ToHaveTextAsync("0.3");
        await Assertions.Expect(page.Locator("#history tr[data-status='applied']").First).ToBeVisibleAsync();

        // A value the control refuses shows its error, in the form and in the table.
        await dropout.Locator("input[name='p']").FillAsync("2");
        await dropout.Locator("button").ClickAsync();
        await Assertions.Expect(dropout.Locator(".result")).ToContainTextAsync("dropout p must be in [0,1)");
        await Assertions.Expect(page.Locator("#history tr[data-status='failed']").First).ToContainTextAsync("dropout p must be in [0,1)");

        // An intervention on the lr shows in its plot; the plots have points and a marker.
        var lr = page.Locator("form.control[data-path='optimizer.lr.multiplier']");
        await lr.Locator("input[name='multiplier']").FillAsync("0.5");
        await lr.Locator("button").ClickAsync();
        await Assertions.Expect(lr.Locator(".result")).ToContainTextAsync("applied");
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('svg[data-metric=loss]')].some(s => +s.dataset.points > 10)");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('svg[data-metric=lr] line.marker').length > 0");

        var screenshot = Path.Combine(AppContext.BaseDirectory, "dashboard-screenshot.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        output.WriteLine("screenshot: " + screenshot);

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [BrowserFact]
    public async Task Plot_StepRewoundByLoadCheckpoint_DrawsTheAbandonedBranchApartFromTheCurrentCurve()
    {
        var chromium = BrowserFactAttribute.RequireChromium();
        // Arrange: a loss reported for steps 1..10, then, after a load_ckpt back to step 5, for steps 5..12.
        using var queue = new TempQueueDirectory();
        Directory.CreateDirectory(queue.Dir);
        var lines = Enumerable.Range(1, 10).Concat(Enumerable.Range(5, 8))
            .Select((step, i) => $"{{\"step\":{step},\"ts\":{1_700_000_000 + i},\"name\":\"loss\",\"value\":{1.0 / step:R}}}");
        File.WriteAllLines(Path.Combine(queue.Dir, "metrics.jsonl"), lines);
        await using var server = await DashboardFixture.StartAsync(queue.Dir);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright, chromium);
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(30_000);

        // Act
        await page.GotoAsync(server.Server.Url.ToString());
        await page.WaitForFunctionAsync("() => +(document.querySelector('svg[data-metric=loss]')?.dataset.points) === 18");

        // Assert: steps 5..10 of the first run are the abandoned branch; 1..4 and the second run's 5..12 are current.
        var abandoned = await page.Locator("svg[data-metric=loss] polyline.abandoned").AllAsync();
        var current = await page.Locator("svg[data-metric=loss] polyline.current").AllAsync();
        Assert.Single(abandoned);
        Assert.Equal(6, (await abandoned[0].GetAttributeAsync("points"))!.Split(' ').Length);
        var currentLengths = await Task.WhenAll(current.Select(async c => (await c.GetAttributeAsync("points"))!.Split(' ').Length));
        Assert.Equal(new[] { 4, 8 }, currentLengths);
    }

    private static Task<IBrowser> LaunchAsync(IPlaywright playwright, string chromium) =>
        playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            Timeout = 60_000,
        });
}
