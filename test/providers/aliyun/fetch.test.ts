import { describeAliyunContract } from './contract.js'
import { describeAliyunQueryContract } from './query-contract.js'

describeAliyunContract('fetch')
describeAliyunQueryContract('fetch')
