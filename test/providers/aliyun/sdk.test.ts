/** Node only: the official SDK needs Node's http. */
import { createSdkTransport } from '../../../src/providers/aliyun/sdk-transport.js'
import { describeAliyunContract } from './contract.js'

describeAliyunContract('sdk', createSdkTransport)
