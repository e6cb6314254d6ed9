"""Signs one request with botocore (the AWS SDK for Python) at 2013-05-24T00:00:00Z and prints
its Authorization header: the reference sluice's SigV4 signer is compared with.

Input on stdin, JSON: {"method", "url", "body", "region", "token"}; credentials AKIDEXAMPLE.
"""
import datetime
import json
import sys
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

spec = json.load(sys.stdin)
credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", spec["token"] or None)
request = AWSRequest(method=spec["method"], url=spec["url"], data=spec["body"].encode())
with mock.patch.object(botocore.auth, "get_current_datetime", return_value=datetime.datetime(2013, 5, 24)):
    botocore.auth.S3SigV4Auth(credentials, "s3", spec["region"]).add_auth(request)
print(request.headers["Authorization"])
