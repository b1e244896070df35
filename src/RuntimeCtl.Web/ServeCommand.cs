using System.Net;
using RuntimeCtl.Cli.Dashboard;

namespace RuntimeCtl.Cli;

/// <summary><c>runtimectl serve</c>: runs the dashboard until Ctrl-C, after printing its URL with the token once.</summary>
internal static class ServeCommand
{
    public static int Run(ServeRequest request, CliContext context)
    {
        if (!IPAddress.IsLoopback(request.Host))
        {
            context.Note($"WARNING: listening on {request.Host}, not only on this machine. Anyone who can reach that address and learns the token can steer the job; the traffic is not encrypted.");
        }

        if (!Directory.Exists(request.QueueDirectory))
        {
            context.Note(CliGrammar.NoQueueDirectory(request.QueueDirectory) + " The dashboard shows it once it exists.");
        }

        DashboardServer server;
        try
        {
            server = DashboardServer.StartAsync(request.QueueDirectory, request.Host, request.Port, request.AllowShared, context.Time, context.CancellationToken).GetAwaiter().GetResult();
        }
        catch (IOException e)
        {
            context.Note($"cannot listen on {request.Host}:{request.Port}: {e.Message}. Choose another --port (0 picks a free one).");
            return ExitCodes.Error;
        }

        try
        {
            context.Stdout.WriteLine(server.Url.ToString());
            context.Stdout.Flush();
            context.Stderr.WriteLine("runtimectl: serving the dashboard of '" + Path.GetFullPath(request.QueueDirectory) + "'; open the URL above (it holds the access token). Ctrl-C stops.");
            if (request.Open)
            {
                OpenBrowser(server.Url, context);
            }

            context.CancellationToken.WaitHandle.WaitOne();
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// Opens the page as Jupyter does: a redirect file readable only by this user, handed to the browser by path, so
    /// the token is never in a process's arguments (<c>/proc/*/cmdline</c> is readable by every user).
    /// </summary>
    private static void OpenBrowser(Uri url, CliContext context)
    {
        var folder = Directory.CreateTempSubdirectory("runtimectl-open-");
        var file = Path.Combine(folder.FullName, "dashboard.html");
        var target = System.Net.WebUtility.HtmlEncode(url.ToString());
        var html = $"<!doctype html><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={target}\"><title>runtimectl</title><a href=\"{target}\">Open the dashboard</a>";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(file, options))
        {
            stream.Write(System.Text.Encoding.UTF8.GetBytes(html));
        }

        var browser = context.Environment("BROWSER") is { Length: > 0 } chosen ? chosen.Split(':')[0] : "xdg-open";
        try
        {
            var info = new System.Diagnostics.ProcessStartInfo(browser) { UseShellExecute = false };
            info.ArgumentList.Add(new Uri(file).AbsoluteUri);
            using var _ = System.Diagnostics.Process.Start(info);
            context.Stderr.WriteLine($"runtimectl: opened {file} with {browser}.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            context.Note($"cannot start a browser ('{browser}': {e.Message}); open {file} or the URL above yourself.");
        }
    }
}
