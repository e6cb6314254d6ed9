// The `sluice` executable: everything it does is in the SluiceRuntime library, where it is
// tested in-process.
import SluiceRuntime

SluiceLogHandler.bootstrap()
SluiceCommand.main()
