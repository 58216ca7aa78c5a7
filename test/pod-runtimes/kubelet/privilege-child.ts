// Prints what checkNetworkNamespaceSupport answers in this process: the test runs it as root and as a plain user.
import { checkNetworkNamespaceSupport } from '../../../local/pod-runtimes/kubelet/network.ts';

process.stdout.write(JSON.stringify(await checkNetworkNamespaceSupport()));
