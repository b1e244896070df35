using System.Runtime.CompilerServices;

// The CLI's assembly is RuntimeCtl.Cli (an assembly named 'runtimectl' is this one to the loader, whose names ignore
// case). Belongs in RuntimeCtl.csproj, replacing <InternalsVisibleTo Include="runtimectl" />.
[assembly: InternalsVisibleTo("RuntimeCtl.Cli")]
